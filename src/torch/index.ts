/**
 * The tensor engine: libtorch through ccig's native addon.
 *
 * @example
 *   import { torch, nn, optim } from 'ccig/torch';
 *   const x = torch.randn([16, 4]);
 */
export * as dist from './dist.ts';
export * as nn from './nn.ts';
export * as optim from './optim.ts';
export * from './runtime.ts';
export * from './safetensors.ts';
export * from './tensor.ts';
