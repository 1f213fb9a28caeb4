/**
 * Encoder E(x) -> q(z | x) = N(mu, diag(exp(logvar))): stride-2 convolutions down to 4x4, then
 * fully connected layers to a Gaussian head over z = [z_c, z_r].
 */
import * as torch from '../torch/index.ts';
import { nn, type Tensor } from '../torch/index.ts';

export interface EncoderOptions {
  imageSize: number;
  zDim: number;
  /** base conv width; doubles per stage up to 8x */
  channels: number;
  fc: number;
}

/** Widths of the stride-2 stages from imageSize down to 4x4: c, 2c, 4c, 8c, 8c, ... */
export function stageWidths(imageSize: number, channels: number): number[] {
  const stages = Math.log2(imageSize / 4);
  return Array.from({ length: stages }, (_, i) => channels * 2 ** Math.min(i, 3));
}

export class Encoder extends nn.Module {
  private readonly convs: nn.Conv2d[] = [];
  private readonly norms: (nn.BatchNorm2d | undefined)[] = [];
  private readonly fc1: nn.Linear;
  private readonly head: nn.Linear;

  constructor(readonly o: EncoderOptions) {
    super();
    const widths = stageWidths(o.imageSize, o.channels);
    let cin = 3;
    widths.forEach((w, i) => {
      this.convs.push(
        this.registerModule(`conv${i}`, new nn.Conv2d(cin, w, 4, { stride: 2, padding: 1, bias: i === 0 })),
      );
      this.norms.push(i === 0 ? undefined : this.registerModule(`bn${i}`, new nn.BatchNorm2d(w)));
      cin = w;
    });
    this.fc1 = this.registerModule('fc1', new nn.Linear(cin * 16, o.fc));
    this.head = this.registerModule('head', new nn.Linear(o.fc, 2 * o.zDim));
  }

  /** x [B, 3, S, S] in [-1, 1] -> { mu [B, zDim], logvar [B, zDim] } */
  forward(x: Tensor): { mu: Tensor; logvar: Tensor } {
    let h = x;
    this.convs.forEach((c, i) => {
      h = c.forward(h);
      const bn = this.norms[i];
      if (bn) h = bn.forward(h);
      h = h.leakyRelu(0.2);
    });
    h = this.fc1.forward(h.flatten(1)).leakyRelu(0.2); // [B, fc]
    const [mu, logvar] = this.head.forward(h).chunk(2, 1);
    return { mu, logvar: logvar.clamp(-10, 5) };
  }

  /** A reparameterised sample z = mu + exp(logvar / 2) * eps. */
  static sample(mu: Tensor, logvar: Tensor): Tensor {
    return mu.add(logvar.mul(0.5).exp().mul(torch.randnLike(mu)));
  }
}
