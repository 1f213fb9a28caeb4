/**
 * Generator G(z) -> x: fully connected layers to a 4x4 map, then stages of nearest 2x
 * upsampling + 3x3 convolution (batch norm + ReLU) up to the image size, tanh output in
 * [-1, 1]. Upsample + conv, as SAGAN/DEAR's generators do, avoids the checkerboard artefacts of
 * stride-2 transposed convolutions.
 */
import * as torch from '../torch/index.ts';
import { nn, type Tensor } from '../torch/index.ts';
import { stageWidths } from './encoder.ts';

export interface GeneratorOptions {
  imageSize: number;
  zDim: number;
  channels: number;
  fc: number;
}

export class Generator extends nn.Module {
  private readonly fc1: nn.Linear;
  private readonly fc2: nn.Linear;
  private readonly bn0: nn.BatchNorm1d;
  private readonly ups: nn.Conv2d[] = [];
  private readonly norms: (nn.BatchNorm2d | undefined)[] = [];
  private readonly top: number;

  constructor(readonly o: GeneratorOptions) {
    super();
    const widths = stageWidths(o.imageSize, o.channels).reverse(); // 8c, 4c, 2c, c
    this.top = widths[0];
    this.fc1 = this.registerModule('fc1', new nn.Linear(o.zDim, o.fc));
    this.fc2 = this.registerModule('fc2', new nn.Linear(o.fc, this.top * 16, { bias: false }));
    this.bn0 = this.registerModule('bn0', new nn.BatchNorm1d(this.top * 16));
    widths.forEach((w, i) => {
      const cout = i + 1 < widths.length ? widths[i + 1] : 3;
      const last = i + 1 === widths.length;
      this.ups.push(this.registerModule(`up${i}`, new nn.Conv2d(w, cout, 3, { padding: 1, bias: last })));
      this.norms.push(last ? undefined : this.registerModule(`bn${i + 1}`, new nn.BatchNorm2d(cout)));
    });
  }

  /** z [B, zDim] -> x [B, 3, S, S] in [-1, 1] */
  forward(z: Tensor): Tensor {
    const B = z.shape[0];
    let h = this.fc1.forward(z).relu();
    h = this.bn0.forward(this.fc2.forward(h)).relu().reshape([B, this.top, 4, 4]);
    this.ups.forEach((up, i) => {
      h = up.forward(torch.interpolate(h, { scaleFactor: 2 }));
      const bn = this.norms[i];
      h = bn ? bn.forward(h).relu() : h.tanh();
    });
    return h;
  }
}
