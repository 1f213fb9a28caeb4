"""DEAR's networks in PyTorch, layer for layer as src/model/dear.ts builds them, for the speed
comparison of `npm run bench -- train` on the `*-dear` presets (step.py imports this when the
preset's net.arch is 'dear'). Same structure as DEAR's bgm.py / sagan.py / resnet.py: ResNet
encoder with a residual MLP head, SAGAN generator with noise injection and self-attention, joint
discriminator with SAGAN image branch and spectrally normalized residual MLPs; scores are [B]
each before they are averaged, as in dear.ts.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm as sn


def snconv(i, o, k, p=0):
    return sn(nn.Conv2d(i, o, k, 1, p))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.theta, self.phi = snconv(c, c // 8, 1), snconv(c, c // 8, 1)
        self.g, self.out = snconv(c, c // 2, 1), snconv(c // 2, c, 1)
        self.sigma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        theta = self.theta(x).view(b, c // 8, h * w)
        phi = F.max_pool2d(self.phi(x), 2).view(b, c // 8, h * w // 4)
        attn = torch.softmax(theta.permute(0, 2, 1) @ phi, -1)
        g = F.max_pool2d(self.g(x), 2).view(b, c // 2, h * w // 4)
        return x + self.sigma * self.out((g @ attn.permute(0, 2, 1)).view(b, c // 2, h, w))


class Noise(nn.Module):
    def __init__(self, c, size):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, c, size, size))

    def forward(self, x):
        return x + self.weight * torch.randn_like(x[:, :1])


def up(x):
    return F.interpolate(x, scale_factor=2, mode='nearest')


class GenBlock(nn.Module):
    def __init__(self, i, o, size):
        super().__init__()
        self.c1, self.c2, self.c0 = snconv(i, o, 3, 1), snconv(o, o, 3, 1), snconv(i, o, 1)
        self.n1, self.n2 = Noise(o, size), Noise(o, size)
        self.bn1, self.bn2 = nn.BatchNorm2d(i), nn.BatchNorm2d(o)

    def forward(self, x):
        h = self.n1(self.c1(up(F.relu(self.bn1(x)))))
        h = self.n2(self.c2(F.relu(self.bn2(h))))
        return h + self.c0(up(x))


class Generator(nn.Module):
    def __init__(self, zdim, c):
        super().__init__()
        self.top = c * 16
        self.lin0, self.noise0 = sn(nn.Linear(zdim, self.top * 16)), Noise(self.top, 4)
        plan = [(16, 16, 8), (16, 8, 16), (8, 4, 32), (4, 2, 64)]
        self.blocks = nn.ModuleList([GenBlock(c * a, c * b, s) for a, b, s in plan])
        self.attn = SelfAttention(c * 4)
        self.bn, self.rgb = nn.BatchNorm2d(c * 2, momentum=0.0001), snconv(c * 2, 3, 3, 1)

    def forward(self, z):
        h = self.noise0(self.lin0(z).view(-1, self.top, 4, 4))
        for i, b in enumerate(self.blocks):
            h = b(h)
            if i == 2:
                h = self.attn(h)
        return torch.tanh(self.rgb(F.relu(self.bn(h))))


class DiscBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.c1, self.c2, self.c0, self.mismatch = snconv(i, o, 3, 1), snconv(o, o, 3, 1), snconv(i, o, 1), i != o

    def forward(self, x, down=True):
        h = self.c2(F.relu(self.c1(F.relu(x))))
        s = self.c0(x) if down or self.mismatch else x
        if down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


class ResMlp(nn.Module):
    def __init__(self, i, w):
        super().__init__()
        self.fc1 = sn(nn.Linear(i, w))
        self.blocks = nn.ModuleList([nn.ModuleList([sn(nn.Linear(w, w)), sn(nn.Linear(w, w))]) for _ in range(3)])
        self.fc4 = sn(nn.Linear(w, 1))

    def forward(self, x):
        f = F.relu(self.fc1(x))
        for a, b in self.blocks:
            f = F.relu(b(F.relu(a(f))) + f)
        return self.fc4(f).squeeze(1), f


class Discriminator(nn.Module):
    def __init__(self, zdim, c, dfc):
        super().__init__()
        self.rgb = snconv(3, c, 1)
        w = [1, 2, 4, 8, 16, 16]
        self.blocks = nn.ModuleList([DiscBlock(c * w[i - 1], c * w[i]) for i in range(1, len(w))])
        self.attn = SelfAttention(c * 2)
        self.score = sn(nn.Linear(c * 16, 1))
        self.z_mlp, self.j_mlp = ResMlp(zdim, dfc), ResMlp(c * 16 + dfc, dfc)

    def forward(self, x, z):
        h = self.rgb(x)
        for i, b in enumerate(self.blocks):
            h = b(h, i < len(self.blocks) - 1)
            if i == 0:
                h = self.attn(h)
        fx = F.relu(h).sum((2, 3))
        sz, fz = self.z_mlp(z)
        sxz, _ = self.j_mlp(torch.cat([fx, fz], 1))
        return (self.score(fx).squeeze(1) + sz + sxz) / 3


class Bottleneck(nn.Module):
    def __init__(self, i, p, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(i, p, 1, bias=False), nn.BatchNorm2d(p)
        self.c2, self.b2 = nn.Conv2d(p, p, 3, stride, 1, bias=False), nn.BatchNorm2d(p)
        self.c3, self.b3 = nn.Conv2d(p, 4 * p, 1, bias=False), nn.BatchNorm2d(4 * p)
        self.down = None
        if stride != 1 or i != 4 * p:
            self.down = nn.Sequential(nn.Conv2d(i, 4 * p, 1, stride, bias=False), nn.BatchNorm2d(4 * p))

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = F.relu(self.b2(self.c2(h)))
        h = self.b3(self.c3(h))
        return F.relu(h + (self.down(x) if self.down is not None else x))


class Encoder(nn.Module):
    """ResNet-50 trunk (width 64), then fc -> BN -> ReLU -> residual MLP block -> Gaussian head."""

    def __init__(self, zdim, fc):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for i, n in enumerate([3, 4, 6, 3]):
            for j in range(n):
                blocks.append(Bottleneck(cin, 64 * 2 ** i, 2 if j == 0 and i > 0 else 1))
                cin = 4 * 64 * 2 ** i
        self.blocks = nn.Sequential(*blocks)
        self.fc0, self.bn = nn.Linear(cin, fc), nn.BatchNorm1d(fc)
        self.r1, self.rb1, self.r2, self.rb2 = nn.Linear(fc, fc), nn.BatchNorm1d(fc), nn.Linear(fc, fc), nn.BatchNorm1d(fc)
        self.head = nn.Linear(fc, 2 * zdim)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        h = self.blocks(h).mean((2, 3))
        h = F.relu(self.bn(self.fc0(h)))
        h = F.relu(self.rb2(self.r2(F.relu(self.rb1(self.r1(h))))) + h)
        mu, logvar = self.head(h).chunk(2, 1)
        return mu, logvar.clamp(-10, 5)
