/**
 * Joint discriminator D(x, z) of the BiGAN (docs/method.md section 2, after DEAR): an image branch
 * (spectrally normalized convolutions, global sum pool), a latent branch (MLP) and a joint
 * branch over both features; the output is the mean of the three scores s_x, s_z, s_xz.
 */

import * as torch from '../torch/index.ts';
import { nn, type Tensor } from '../torch/index.ts';
import { stageWidths } from './encoder.ts';

export interface DiscriminatorOptions {
  imageSize: number;
  zDim: number;
  channels: number;
  /** width of the image and latent features */
  fc: number;
  /** width of the joint branch */
  jointFc: number;
}

const sn = { spectralNorm: true } as const;

export class Discriminator extends nn.Module {
  private readonly convs: nn.Conv2d[] = [];
  private readonly xFeat: nn.Linear;
  private readonly z1: nn.Linear;
  private readonly z2: nn.Linear;
  private readonly j1: nn.Linear;
  private readonly j2: nn.Linear;
  private readonly sx: nn.Linear;
  private readonly sz: nn.Linear;

  constructor(readonly o: DiscriminatorOptions) {
    super();
    let cin = 3;
    stageWidths(o.imageSize, o.channels).forEach((w, i) => {
      this.convs.push(
        this.registerModule(`conv${i}`, new nn.Conv2d(cin, w, 4, { stride: 2, padding: 1, ...sn })),
      );
      cin = w;
    });
    this.xFeat = this.registerModule('x_fc', new nn.Linear(cin, o.fc, sn));
    this.z1 = this.registerModule('z_fc1', new nn.Linear(o.zDim, o.fc, sn));
    this.z2 = this.registerModule('z_fc2', new nn.Linear(o.fc, o.fc, sn));
    this.j1 = this.registerModule('joint_fc1', new nn.Linear(2 * o.fc, o.jointFc, sn));
    this.j2 = this.registerModule('joint_fc2', new nn.Linear(o.jointFc, 1, sn));
    this.sx = this.registerModule('x_score', new nn.Linear(o.fc, 1, sn));
    this.sz = this.registerModule('z_score', new nn.Linear(o.fc, 1, sn));
  }

  /** x [B, 3, S, S], z [B, zDim] -> logits [B] */
  forward(x: Tensor, z: Tensor): Tensor {
    let h = x;
    for (const c of this.convs) h = c.forward(h).leakyRelu(0.2);
    const fx = this.xFeat.forward(h.sum([2, 3])).leakyRelu(0.2); // [B, fc]
    const fz = this.z2.forward(this.z1.forward(z).leakyRelu(0.2)).leakyRelu(0.2); // [B, fc]
    const sxz = this.j2.forward(this.j1.forward(torch.cat([fx, fz], 1)).leakyRelu(0.2)); // [B, 1]
    return this.sx.forward(fx).add(this.sz.forward(fz)).add(sxz).div(3).squeeze(1);
  }
}
