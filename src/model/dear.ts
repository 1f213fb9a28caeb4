/**
 * DEAR's networks (Shen et al. 2022, code xwshen51/DEAR: bgm.py, sagan.py, resnet.py), the
 * `net.arch: 'dear'` choice beside the plain conv stages of encoder.ts / generator.ts /
 * discriminator.ts:
 *
 *   DearEncoder        ResNet-50 (or -18) trunk, then fc -> BN -> ReLU -> residual MLP block ->
 *                      Gaussian head (mu, logvar)                           (bgm.py ResEncoder)
 *   DearGenerator      SAGAN generator: a spectrally normalized linear map to 4x4, residual
 *                      up-blocks with batch norm and noise injection, self-attention at 32x32,
 *                      BN -> ReLU -> 3x3 conv -> tanh                     (sagan.py Generator)
 *   DearDiscriminator  joint D(x, z): a SAGAN image branch (residual down-blocks, self-attention,
 *                      global sum pool), residual spectrally normalized MLPs over z and over
 *                      the two features; the score is the mean of the three (BigJointDiscriminator)
 *
 * Parameter names follow DEAR's modules, so a state dict reads like theirs; parameter counts
 * match DEAR's (test/dear.test.ts). Two deliberate differences: the encoder's logvar is clamped
 * to [-10, 5] as in encoder.ts (DEAR leaves it free), and the three discriminator scores are
 * each [B] before they are averaged (DEAR adds a squeezed [B] to two [B, 1] scores, which
 * broadcasts to a [B, B] matrix of every pairing).
 */
import * as torch from '../torch/index.ts';
import { nn, type Tensor } from '../torch/index.ts';

export interface DearOptions {
  imageSize: number;
  zDim: number;
  /** base width of the generator and discriminator (DEAR g_conv_dim / d_conv_dim: 32) */
  channels: number;
  /** width of the encoder's fully connected layers (DEAR enc_fc_size: 1024) */
  encFc: number;
  /** width of the discriminator's MLPs (DEAR dis_fc_size: 512) */
  disFc: number;
  /** ResNet depth of the encoder (DEAR: 50 for CelebA and Pendulum) */
  resnet: 18 | 50;
  /** ResNet's base width (64 in ResNet; smaller only for tests) */
  resnetWidth: number;
}

const sn = { spectralNorm: true } as const;

/** DEAR's init_weights: orthogonal weights and zero biases for every linear and conv layer. */
function orthogonalInit(module: nn.Module): void {
  torch.noGrad(() => {
    for (const [, m] of module.namedModules()) {
      if (!(m instanceof nn.Linear || m instanceof nn.Conv2d)) continue;
      for (const [name, p] of m.namedParameters()) {
        if (name === 'bias') p.zero_();
        else nn.init.orthogonal_(p);
      }
    }
  });
}

// ---- encoder --------------------------------------------------------------------------------

class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  private readonly conv1: nn.Conv2d;
  private readonly bn1: nn.BatchNorm2d;
  private readonly conv2: nn.Conv2d;
  private readonly bn2: nn.BatchNorm2d;
  private readonly down: nn.Sequential | undefined;

  constructor(cin: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new nn.Conv2d(cin, planes, 3, { stride, padding: 1, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', new nn.Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(planes));
    const down = shortcut(cin, planes, stride);
    this.down = down && this.registerModule('downsample', down);
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    return out.add(this.down ? this.down.forward(x) : x).relu();
  }
}

class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  private readonly conv1: nn.Conv2d;
  private readonly bn1: nn.BatchNorm2d;
  private readonly conv2: nn.Conv2d;
  private readonly bn2: nn.BatchNorm2d;
  private readonly conv3: nn.Conv2d;
  private readonly bn3: nn.BatchNorm2d;
  private readonly down: nn.Sequential | undefined;

  constructor(cin: number, planes: number, stride: number) {
    super();
    const cout = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(cin, planes, 1, { bias: false }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(planes));
    this.conv2 = this.registerModule(
      'conv2',
      new nn.Conv2d(planes, planes, 3, { stride, padding: 1, bias: false }),
    );
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(planes));
    this.conv3 = this.registerModule('conv3', new nn.Conv2d(planes, cout, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', new nn.BatchNorm2d(cout));
    const down = shortcut(cin, cout, stride);
    this.down = down && this.registerModule('downsample', down);
  }

  forward(x: Tensor): Tensor {
    let out = this.bn1.forward(this.conv1.forward(x)).relu();
    out = this.bn2.forward(this.conv2.forward(out)).relu();
    out = this.bn3.forward(this.conv3.forward(out));
    return out.add(this.down ? this.down.forward(x) : x).relu();
  }
}

/** ResNet's projection shortcut (1x1 conv + BN) where the shape changes. */
function shortcut(cin: number, cout: number, stride: number): nn.Sequential | undefined {
  if (stride === 1 && cin === cout) return undefined;
  return new nn.Sequential([new nn.Conv2d(cin, cout, 1, { stride, bias: false }), new nn.BatchNorm2d(cout)]);
}

/** ResNet-18/50 trunk and DEAR's fc head: x [B, 3, S, S] -> [B, outDim]. */
export class DearEncoder extends nn.Module {
  private readonly conv1: nn.Conv2d;
  private readonly bn1: nn.BatchNorm2d;
  private readonly stages: (BasicBlock | Bottleneck)[][] = [];
  private readonly fc0: nn.Linear;
  private readonly fcBn: nn.BatchNorm1d;
  private readonly res1: nn.Linear;
  private readonly resBn1: nn.BatchNorm1d;
  private readonly res2: nn.Linear;
  private readonly resBn2: nn.BatchNorm1d;
  private readonly head: nn.Linear;

  constructor(readonly o: DearOptions) {
    super();
    const w = o.resnetWidth;
    const Block = o.resnet === 50 ? Bottleneck : BasicBlock;
    const depths = o.resnet === 50 ? [3, 4, 6, 3] : [2, 2, 2, 2];
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(3, w, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(w));
    let cin = w;
    depths.forEach((n, i) => {
      const planes = w * 2 ** i;
      const layer = new LayerGroup();
      this.registerModule(`layer${i + 1}`, layer);
      const blocks = Array.from({ length: n }, (_, j) => {
        const b = layer.add(String(j), new Block(cin, planes, j === 0 && i > 0 ? 2 : 1));
        cin = planes * Block.expansion;
        return b;
      });
      this.stages.push(blocks);
    });
    // fc = Sequential(Linear, BatchNorm1d, ReLU, ResMLPBlock(Linear, BN, ReLU, Linear, BN), Linear)
    const fc = new LayerGroup();
    this.registerModule('fc', fc);
    this.fc0 = fc.add('0', new nn.Linear(cin, o.encFc));
    this.fcBn = fc.add('1', new nn.BatchNorm1d(o.encFc));
    const res = fc.add('3', new LayerGroup());
    this.res1 = res.add('fc1.0', new nn.Linear(o.encFc, o.encFc));
    this.resBn1 = res.add('fc1.1', new nn.BatchNorm1d(o.encFc));
    this.res2 = res.add('fc2.0', new nn.Linear(o.encFc, o.encFc));
    this.resBn2 = res.add('fc2.1', new nn.BatchNorm1d(o.encFc));
    this.head = fc.add('4', new nn.Linear(o.encFc, 2 * o.zDim));
    // ResNet's init: He-normal convolutions (fan out); batch norms start at 1 / 0; linears keep PyTorch's default
    torch.noGrad(() => {
      for (const [name, p] of this.namedParameters())
        if (p.dim === 4 && name.endsWith('weight'))
          nn.init.kaimingNormal_(p, { mode: 'fanOut', nonlinearity: 'relu' });
    });
  }

  /** x [B, 3, S, S] in [-1, 1] -> { mu [B, zDim], logvar [B, zDim] } */
  forward(x: Tensor): { mu: Tensor; logvar: Tensor } {
    let h = this.bn1.forward(this.conv1.forward(x)).relu();
    h = torch.maxPool2d(h, 3, { stride: 2, padding: 1 });
    for (const blocks of this.stages) for (const b of blocks) h = b.forward(h);
    h = h.mean([2, 3]); // adaptive average pool to 1x1, flattened
    h = this.fcBn.forward(this.fc0.forward(h)).relu();
    const r = this.resBn2.forward(this.res2.forward(this.resBn1.forward(this.res1.forward(h)).relu()));
    h = r.add(h).relu();
    const [mu, logvar] = this.head.forward(h).chunk(2, 1);
    return { mu, logvar: logvar.clamp(-10, 5) };
  }
}

/** A named container whose children are called by their owner (nn.Sequential's names, own order). */
class LayerGroup extends nn.Module {
  add<M extends nn.Module>(name: string, m: M): M {
    return this.registerModule(name, m);
  }
}

// ---- SAGAN pieces ---------------------------------------------------------------------------

/** SAGAN self-attention: x + sigma * attention(x), keys and values max-pooled 2x. */
class SelfAttention extends nn.Module {
  private readonly theta: nn.Conv2d;
  private readonly phi: nn.Conv2d;
  private readonly g: nn.Conv2d;
  private readonly out: nn.Conv2d;
  private readonly sigma: Tensor;

  constructor(readonly channels: number) {
    super();
    const c = channels;
    this.theta = this.registerModule('snconv1x1_theta', new nn.Conv2d(c, c / 8, 1, sn));
    this.phi = this.registerModule('snconv1x1_phi', new nn.Conv2d(c, c / 8, 1, sn));
    this.g = this.registerModule('snconv1x1_g', new nn.Conv2d(c, c / 2, 1, sn));
    this.out = this.registerModule('snconv1x1_attn', new nn.Conv2d(c / 2, c, 1, sn));
    this.sigma = this.registerParameter('sigma', torch.zeros([1]));
  }

  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const theta = this.theta.forward(x).reshape([B, C / 8, H * W]);
    const phi = torch.maxPool2d(this.phi.forward(x), 2).reshape([B, C / 8, (H * W) / 4]);
    const attn = theta.permute([0, 2, 1]).bmm(phi).softmax(-1); // [B, HW, HW/4]
    const g = torch.maxPool2d(this.g.forward(x), 2).reshape([B, C / 2, (H * W) / 4]);
    const attnG = g.bmm(attn.permute([0, 2, 1])).reshape([B, C / 2, H, W]);
    return x.add(this.sigma.mul(this.out.forward(attnG)));
  }
}

/** image + weight * N(0, 1) noise shared across channels (DEAR's implicit generator). */
class NoiseInjection extends nn.Module {
  private readonly weight: Tensor;
  constructor(channels: number, size: number) {
    super();
    this.weight = this.registerParameter('weight', torch.zeros([1, channels, size, size]));
  }
  forward(x: Tensor): Tensor {
    return x.add(this.weight.mul(torch.randnLike(x.slice(1, 0, 1)))); // one noise map [B, 1, H, W]
  }
}

const up2 = (x: Tensor) => torch.interpolate(x, { scaleFactor: 2 });

/** SAGAN's residual up-block: BN-ReLU-up-conv-noise-BN-ReLU-conv-noise, plus up-conv1x1 of the input. */
class GenBlock extends nn.Module {
  private readonly conv1: nn.Conv2d;
  private readonly conv2: nn.Conv2d;
  private readonly conv0: nn.Conv2d;
  private readonly noise1: NoiseInjection;
  private readonly noise2: NoiseInjection;
  private readonly bn1: nn.BatchNorm2d;
  private readonly bn2: nn.BatchNorm2d;

  constructor(cin: number, cout: number, noiseSize: number) {
    super();
    this.conv1 = this.registerModule('conv_1', new nn.Conv2d(cin, cout, 3, { padding: 1, ...sn }));
    this.conv2 = this.registerModule('conv_2', new nn.Conv2d(cout, cout, 3, { padding: 1, ...sn }));
    this.noise1 = this.registerModule('noise1', new NoiseInjection(cout, noiseSize));
    this.noise2 = this.registerModule('noise2', new NoiseInjection(cout, noiseSize));
    this.conv0 = this.registerModule('conv_0', new nn.Conv2d(cin, cout, 1, sn));
    this.bn1 = this.registerModule('bn1', new nn.BatchNorm2d(cin));
    this.bn2 = this.registerModule('bn2', new nn.BatchNorm2d(cout));
  }

  forward(x: Tensor): Tensor {
    let h = this.noise1.forward(this.conv1.forward(up2(this.bn1.forward(x).relu())));
    h = this.noise2.forward(this.conv2.forward(this.bn2.forward(h).relu()));
    return h.add(this.conv0.forward(up2(x)));
  }
}

/** SAGAN's residual down-block: ReLU-conv-ReLU-conv-avgpool, plus conv1x1-avgpool of the input. */
class DiscBlock extends nn.Module {
  private readonly conv1: nn.Conv2d;
  private readonly conv2: nn.Conv2d;
  private readonly conv0: nn.Conv2d;

  constructor(
    private readonly cin: number,
    private readonly cout: number,
  ) {
    super();
    this.conv1 = this.registerModule('conv_1', new nn.Conv2d(cin, cout, 3, { padding: 1, ...sn }));
    this.conv2 = this.registerModule('conv_2', new nn.Conv2d(cout, cout, 3, { padding: 1, ...sn }));
    // DEAR creates the shortcut conv even where it goes unused (last block, same width): kept so
    // the parameter count and state dict match
    this.conv0 = this.registerModule('conv_0', new nn.Conv2d(cin, cout, 1, sn));
  }

  forward(x: Tensor, downsample = true): Tensor {
    let h = this.conv2.forward(this.conv1.forward(x.relu()).relu());
    let s = x;
    if (downsample || this.cin !== this.cout) s = this.conv0.forward(s);
    if (downsample) {
      h = torch.avgPool2d(h, 2);
      s = torch.avgPool2d(s, 2);
    }
    return h.add(s);
  }
}

/** DEAR's spectrally normalized residual MLP: fc1 -> 3 residual blocks -> score; returns score and feature. */
class SnResMlp extends nn.Module {
  private readonly fc1: nn.Linear;
  private readonly blocks: [nn.Linear, nn.Linear][] = [];
  private readonly fc4: nn.Linear;

  constructor(cin: number, width: number, nBlocks = 3) {
    super();
    this.fc1 = this.registerModule('fc1', new LayerGroup()).add('0', new nn.Linear(cin, width, sn));
    for (let i = 1; i <= nBlocks; i++) {
      const b = this.registerModule(`block${i}`, new LayerGroup());
      this.blocks.push([
        b.add('fc1.0', new nn.Linear(width, width, sn)),
        b.add('fc2', new nn.Linear(width, width, sn)),
      ]);
    }
    this.fc4 = this.registerModule('fc4', new nn.Linear(width, 1, sn));
  }

  forward(x: Tensor): { score: Tensor; feature: Tensor } {
    let f = this.fc1.forward(x).relu();
    for (const [a, b] of this.blocks) f = b.forward(a.forward(f).relu()).add(f).relu();
    return { score: this.fc4.forward(f).squeeze(1), feature: f };
  }
}

// ---- generator ------------------------------------------------------------------------------

/** SAGAN generator with noise injection, 64 or 128 px: z [B, zDim] -> x [B, 3, S, S] in [-1, 1]. */
export class DearGenerator extends nn.Module {
  private readonly lin0: nn.Linear;
  private readonly noise0: NoiseInjection;
  private readonly blocks: GenBlock[] = [];
  private readonly attn: SelfAttention;
  /** index of the block after which self-attention runs */
  private readonly attnAfter = 2;
  private readonly bn: nn.BatchNorm2d;
  private readonly toRgb: nn.Conv2d;
  private readonly top: number;

  constructor(readonly o: DearOptions) {
    super();
    const c = o.channels;
    if (o.imageSize !== 64 && o.imageSize !== 128)
      throw new Error(`DEAR's generator is defined for 64 or 128 px, not ${o.imageSize}`);
    this.top = c * 16;
    const b0 = this.registerModule('block0', new LayerGroup());
    this.lin0 = b0.add('snlinear0', new nn.Linear(o.zDim, this.top * 16, sn));
    this.noise0 = b0.add('noise0', new NoiseInjection(this.top, 4));
    // widths and noise sizes as DEAR's Generator (noise maps are 1x1 beyond 16 px at 128 px)
    const plan: [number, number, number][] =
      o.imageSize === 64
        ? [
            [16, 16, 8],
            [16, 8, 16],
            [8, 4, 32],
            [4, 2, 64],
          ]
        : [
            [16, 16, 8],
            [16, 8, 16],
            [8, 4, 1],
            [4, 2, 1],
            [2, 1, 1],
          ];
    plan.forEach(([a, b, size], i) => {
      this.blocks.push(this.registerModule(`block${i + 1}`, new GenBlock(c * a, c * b, size)));
    });
    this.attn = this.registerModule('self_attn1', new SelfAttention(c * 4));
    const last = c * plan[plan.length - 1][1];
    this.bn = this.registerModule('bn', new nn.BatchNorm2d(last, { eps: 1e-5, momentum: 0.0001 }));
    this.toRgb = this.registerModule('toRGB', new nn.Conv2d(last, 3, 3, { padding: 1, ...sn }));
    orthogonalInit(this);
  }

  forward(z: Tensor): Tensor {
    let h = this.noise0.forward(this.lin0.forward(z).reshape([z.shape[0], this.top, 4, 4]));
    this.blocks.forEach((b, i) => {
      h = b.forward(h);
      if (i === this.attnAfter) h = this.attn.forward(h);
    });
    return this.toRgb.forward(this.bn.forward(h).relu()).tanh();
  }
}

// ---- joint discriminator --------------------------------------------------------------------

/** DEAR's BigJointDiscriminator: x [B, 3, S, S], z [B, zDim] -> logits [B]. */
export class DearDiscriminator extends nn.Module {
  private readonly fromRgb: nn.Conv2d;
  private readonly blocks: DiscBlock[] = [];
  private readonly attn: SelfAttention;
  private readonly xScore: nn.Linear;
  private readonly zMlp: SnResMlp;
  private readonly jointMlp: SnResMlp;

  constructor(readonly o: DearOptions) {
    super();
    const c = o.channels;
    const image = this.registerModule('discriminator', new LayerGroup());
    this.fromRgb = image.add('fromRGB', new nn.Conv2d(3, c, 1, sn));
    const widths = o.imageSize === 64 ? [1, 2, 4, 8, 16, 16] : [1, 2, 4, 8, 16, 16, 16];
    for (let i = 1; i < widths.length; i++)
      this.blocks.push(image.add(`block${i}`, new DiscBlock(c * widths[i - 1], c * widths[i])));
    this.attn = image.add('self_attn', new SelfAttention(c * 2));
    this.xScore = image.add('snlinear1', new nn.Linear(c * 16, 1, sn));
    this.zMlp = this.registerModule('discriminator_z', new SnResMlp(o.zDim, o.disFc));
    this.jointMlp = this.registerModule('discriminator_j', new SnResMlp(c * 16 + o.disFc, o.disFc));
    orthogonalInit(this);
  }

  forward(x: Tensor, z: Tensor): Tensor {
    let h = this.fromRgb.forward(x);
    this.blocks.forEach((b, i) => {
      h = b.forward(h, i < this.blocks.length - 1); // the last block keeps its resolution
      if (i === 0) h = this.attn.forward(h);
    });
    const fx = h.relu().sum([2, 3]); // global sum pool [B, 16c]
    const sx = this.xScore.forward(fx).squeeze(1);
    const { score: sz, feature: fz } = this.zMlp.forward(z);
    const { score: sxz } = this.jointMlp.forward(torch.cat([fx, fz], 1));
    return sx.add(sz).add(sxz).div(3);
  }
}
