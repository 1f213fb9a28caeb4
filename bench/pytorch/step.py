"""The same CCIG training step in PyTorch, for `npm run bench -- train`.

Mirrors src/model/*.ts and src/train/train.ts layer for layer (encoder, upsample+conv generator,
spectrally normalized joint discriminator, linear SCM prior with A masked by the graph) and the
three-part step (D step, E + G/prior step with D frozen), with the same terms: adversarial,
supervision (MSE or BCE), the SCM-consistency score (GOLEM-NV, u = f^-1(mu_c) held fixed) and the
latent cycle. Not mirrored: MLP parents and spline mechanisms (linear ones here), the structure
penalty of a learned graph (an exactly searched or given graph has none).
Prints one JSON line: images per second, steps timed, and the threads, OMP policy and malloc
settings it ran with.
Usage: python3 step.py CHANNELS FC DFC DJOINT ZDIM M BATCH SECONDS THREADS LAMBDA_CYC [ARCH [DEVICE
       [MIN_STEPS [SUP [LAMBDA_SCM [MASK]]]]]]
ARCH is dcgan (default) or dear (DEAR's networks from dear_nets.py, as src/model/dear.ts).
DEVICE is cpu (default), cuda or cuda:N. Each step reads its losses back, as ccig's step does.
MIN_STEPS: time at least this many steps (default 30). SUP: mse (default) or bce. LAMBDA_SCM:
default 1. MASK: A's graph mask, M*M comma-separated 0/1 row-major (default: all off-diagonal).
"""
import json, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm as sn

ch, fc, dfc, djoint, zdim, m, batch, seconds, threads, lambda_cyc = [float(a) if '.' in a else int(a) for a in sys.argv[1:11]]
torch.set_num_threads(threads)
device = sys.argv[12] if len(sys.argv) > 12 else 'cpu'
min_steps = int(sys.argv[13]) if len(sys.argv) > 13 else 30
sup_kind = sys.argv[14] if len(sys.argv) > 14 else 'mse'
lambda_scm = float(sys.argv[15]) if len(sys.argv) > 15 else 1.0
if device != 'cpu':
    # modules, parameters and tensors below are created on the GPU (PyTorch >= 2.0)
    torch.set_default_device(device)
S = 64
widths = [ch * 2 ** min(i, 3) for i in range(4)]


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        cin, layers = 3, []
        for i, w in enumerate(widths):
            layers.append(nn.Conv2d(cin, w, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2))
            cin = w
        self.body = nn.Sequential(*layers)
        self.fc1 = nn.Linear(cin * 16, fc)
        self.head = nn.Linear(fc, 2 * zdim)

    def forward(self, x):
        h = F.leaky_relu(self.fc1(self.body(x).flatten(1)), 0.2)
        mu, logvar = self.head(h).chunk(2, 1)
        return mu, logvar.clamp(-10, 5)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        rev = widths[::-1]
        self.top = rev[0]
        self.fc1 = nn.Linear(zdim, fc)
        self.fc2 = nn.Linear(fc, self.top * 16, bias=False)
        self.bn0 = nn.BatchNorm1d(self.top * 16)
        self.convs, self.bns = nn.ModuleList(), nn.ModuleList()
        for i, w in enumerate(rev):
            last = i + 1 == len(rev)
            cout = 3 if last else rev[i + 1]
            self.convs.append(nn.Conv2d(w, cout, 3, 1, 1, bias=last))
            self.bns.append(nn.Identity() if last else nn.BatchNorm2d(cout))

    def forward(self, z):
        h = F.relu(self.fc1(z))
        h = F.relu(self.bn0(self.fc2(h))).view(-1, self.top, 4, 4)
        for i, (c, b) in enumerate(zip(self.convs, self.bns)):
            h = c(F.interpolate(h, scale_factor=2, mode='nearest'))
            h = torch.tanh(h) if i + 1 == len(self.convs) else F.relu(b(h))
        return h


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        cin, convs = 3, []
        for w in widths:
            convs.append(sn(nn.Conv2d(cin, w, 4, 2, 1)))
            cin = w
        self.convs = nn.ModuleList(convs)
        self.x_fc = sn(nn.Linear(cin, dfc))
        self.z1, self.z2 = sn(nn.Linear(zdim, dfc)), sn(nn.Linear(dfc, dfc))
        self.j1, self.j2 = sn(nn.Linear(2 * dfc, djoint)), sn(nn.Linear(djoint, 1))
        self.sx, self.sz = sn(nn.Linear(dfc, 1)), sn(nn.Linear(dfc, 1))

    def forward(self, x, z):
        h = x
        for c in self.convs:
            h = F.leaky_relu(c(h), 0.2)
        fx = F.leaky_relu(self.x_fc(h.sum((2, 3))), 0.2)
        fz = F.leaky_relu(self.z2(F.leaky_relu(self.z1(z), 0.2)), 0.2)
        sxz = self.j2(F.leaky_relu(self.j1(torch.cat([fx, fz], 1)), 0.2))
        return ((self.sx(fx) + self.sz(fz) + sxz) / 3).squeeze(1)


if len(sys.argv) > 11 and sys.argv[11] == 'dear':
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import dear_nets
    E, G, D = dear_nets.Encoder(zdim, fc), dear_nets.Generator(zdim, ch), dear_nets.Discriminator(zdim, ch, dfc)
else:
    E, G, D = Encoder(), Generator(), Discriminator()
A = nn.Parameter(torch.zeros(m, m))
if len(sys.argv) > 16:
    mask = torch.tensor([float(v) for v in sys.argv[16].split(',')]).view(m, m)
else:
    mask = 1 - torch.eye(m)
can_have_parents = (mask.sum(0) > 0).float().unsqueeze(0)
log_scale, shift = nn.Parameter(torch.zeros(m)), nn.Parameter(torch.zeros(m))
optD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.0, 0.999))
# A has DEAR's betas for its optimizer, (0.9, 0.999); everything else (0, 0.999)
optEG = torch.optim.Adam([{'params': E.parameters()}, {'params': G.parameters()}, {'params': [log_scale, shift]}, {'params': [A], 'lr': 1e-3, 'betas': (0.9, 0.999)}], 2e-4, betas=(0.0, 0.999))
k = zdim - m


def sample_z(b):
    u = torch.randn(b, m) @ torch.inverse(torch.eye(m) - A * mask)
    return torch.cat([u * log_scale.exp() + shift, torch.randn(b, k)], 1)


x = torch.rand(batch, 3, S, S) * 2 - 1
y = torch.rand(batch, m)


def step():
    with torch.no_grad():
        mu, logvar = E(x)
        z_real = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        z_fake = sample_z(batch)
        x_fake = G(z_fake)
    loss_d = F.softplus(D(x_fake, z_fake)).mean() + F.softplus(-D(x, z_real)).mean()
    optD.zero_grad(set_to_none=True)
    loss_d.backward()
    optD.step()
    for p in D.parameters():
        p.requires_grad_(False)
    mu, logvar = E(x)
    loss_e = D(x, mu + (0.5 * logvar).exp() * torch.randn_like(mu)).mean()
    mu_c = mu[:, :m]
    loss_sup = F.mse_loss(mu_c, y) if sup_kind == 'mse' else F.binary_cross_entropy_with_logits(mu_c, y)
    # SCM consistency (scm.ts consistencyLoss, 'nv' score): trains the parent model only
    with torch.no_grad():
        u = (mu_c - shift) / log_scale.exp()
    residual = u - u @ (A * mask)
    scored = can_have_parents.expand_as(residual)
    count = scored.sum(0)
    with torch.no_grad():
        floor = u.var(0) * 1e-4 + 1e-8
    variance = (residual.square() * scored).sum(0) / count.clamp(min=1)
    loss_scm = 0.5 * ((variance + floor).log() * (count > 0).float()).sum()
    z = sample_z(batch)
    x_gen = G(z)
    d_fake = D(x_gen, z)
    s = d_fake.detach().exp().clamp(0.5, 2)
    loss = loss_e + 5 * loss_sup + lambda_scm * loss_scm - (s * d_fake).mean()
    if lambda_cyc > 0:
        # the cycle trains G only: a second G pass on the detached z, frozen encoder in eval mode
        z_fixed = z.detach()
        x_cyc = G(z_fixed)
        E.eval()
        for p in E.parameters():
            p.requires_grad_(False)
        loss = loss + lambda_cyc * F.mse_loss(E(x_cyc)[0][:, :m], z_fixed[:, :m])
        for p in E.parameters():
            p.requires_grad_(True)
        E.train()
    optEG.zero_grad(set_to_none=True)
    loss.backward()
    optEG.step()
    for p in D.parameters():
        p.requires_grad_(True)
    # the losses, read back as ccig's trainer returns them (one wait for the GPU per step)
    return torch.stack([loss_d, loss_e, loss_sup, loss_scm, loss]).tolist()


for _ in range(3):
    step()
if device != 'cpu':
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
n, t0 = 0, time.perf_counter()
while n < min_steps or time.perf_counter() - t0 < seconds:
    step()
    n += 1
if device != 'cpu':
    torch.cuda.synchronize()
out = {
    'imagesPerSecond': n * batch / (time.perf_counter() - t0),
    'steps': n,
    'torch': torch.__version__,
    'device': device,
    'threads': torch.get_num_threads(),
    'ompWaitPolicy': os.environ.get('OMP_WAIT_POLICY'),
    'malloc': ' '.join(f'{k}={os.environ[k]}' for k in ('MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_') if k in os.environ) or 'glibc defaults',
}
if device != 'cpu':
    # the most memory the step's tensors held at once (not the allocator's cache)
    out['peakAllocatedMiB'] = round(torch.cuda.max_memory_allocated() / 2 ** 20)
print(json.dumps(out))
