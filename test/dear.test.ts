// DEAR's networks (net.arch 'dear'): parameter counts against DEAR's own modules, shapes,
// DEAR's initialisation, and a training step of a tiny-width version on the CPU.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateWorldDataset, splitWorldDataset, worldByName } from '../src/data/world-dataset.ts';
import { resolveConfig } from '../src/model/config.ts';
import { DearDiscriminator, DearEncoder, DearGenerator, type DearOptions } from '../src/model/dear.ts';
import * as torch from '../src/torch/index.ts';
import { train } from '../src/train/train.ts';

/**
 * Parameter counts of DEAR's networks as DEAR's code builds them (bgm.py ResEncoder with
 * resnet.py's ResNet-50 and fc 1024, sagan.py's Generator with noise injection, and
 * BigJointDiscriminator with dis_fc_size 512; g_conv_dim = d_conv_dim = 32, 64 px): counted with
 * PyTorch 1.13's `sum(p.numel() for p in m.parameters())` on modules rebuilt from DEAR's files.
 * Latent 100 is DEAR's CelebA setting (run_celeba_smile.sh), latent 6 its Pendulum setting.
 */
const DEAR_COUNTS = {
  celeba: { zDim: 100, encoder: 27_916_552, generator: 9_324_004, discriminator: 13_594_676 },
  pendulum: { zDim: 6, encoder: 27_723_852, generator: 8_553_956, discriminator: 13_546_548 },
};

const dearWidths = (zDim: number): DearOptions => ({
  imageSize: 64,
  zDim,
  channels: 32,
  encFc: 1024,
  disFc: 512,
  resnet: 50,
  resnetWidth: 64,
});

const count = (m: { parameters(): torch.Tensor[] }) => m.parameters().reduce((a, p) => a + p.numel, 0);

for (const [name, want] of Object.entries(DEAR_COUNTS)) {
  test(`DEAR's ${name} networks have DEAR's parameter counts`, () => {
    const o = dearWidths(want.zDim);
    for (const [part, Net] of [
      ['encoder', DearEncoder],
      ['generator', DearGenerator],
      ['discriminator', DearDiscriminator],
    ] as const) {
      const net = new Net(o);
      assert.equal(count(net), want[part], `${name} ${part}`);
      net.dispose();
    }
  });
}

test('the presets with DEAR networks build DEAR-sized models', () => {
  const cfg = resolveConfig('celeba-smile-dear');
  assert.equal(cfg.net.arch, 'dear');
  assert.equal(cfg.attributes.length + cfg.zFree, 100);
  assert.equal(cfg.train.batchSize, 128);
  const p = resolveConfig('pendulum-dear');
  assert.equal(p.attributes.length + p.zFree, 6);
});

test('tiny DEAR networks: shapes, output range, DEAR initialisation', () =>
  torch.scope(() => {
    const o: DearOptions = {
      ...dearWidths(6),
      channels: 4,
      encFc: 16,
      disFc: 16,
      resnet: 18,
      resnetWidth: 4,
    };
    const E = new DearEncoder(o);
    const G = new DearGenerator(o);
    const D = new DearDiscriminator(o);
    const x = torch.randn([3, 3, 64, 64]);
    const { mu, logvar } = E.forward(x);
    assert.deepEqual(mu.shape, [3, 6]);
    assert.deepEqual(logvar.shape, [3, 6]);
    const g = G.forward(mu);
    assert.deepEqual(g.shape, [3, 3, 64, 64]);
    assert.ok(g.abs().max().item() <= 1);
    assert.deepEqual(D.forward(g, mu).shape, [3]);
    // orthogonal weights (rows orthonormal where out <= in) and zero biases in G and D, zero noise
    // weights and attention gates, as DEAR's init_weights and module definitions leave them
    const sd = G.stateDict();
    const w = sd['block1.conv_1.weight_orig'].reshape([o.channels * 16, -1]);
    const gram = w.matmul(w.t());
    assert.ok(gram.sub(torch.eye(gram.shape[0])).abs().max().item() < 1e-4, 'orthogonal init');
    assert.equal(sd['block1.conv_1.bias'].abs().max().item(), 0);
    assert.equal(sd['block1.noise1.weight'].abs().max().item(), 0);
    assert.equal(sd['self_attn1.sigma'].item(), 0);
    assert.ok('discriminator_j.block3.fc2.weight_orig' in D.stateDict());
    assert.ok('layer4.1.bn2.running_var' in E.stateDict());
    for (const n of [E, G, D]) n.dispose();
  }));

test('a tiny-width DEAR model trains on the CPU (finite losses, a checkpoint)', async () => {
  const world = generateWorldDataset(worldByName('pendulum'), { count: 48, imageSize: 64, seed: 5 });
  const data = splitWorldDataset(world, { testFraction: 0.25, seed: 0 });
  const config = resolveConfig('tiny', {
    zFree: 2,
    net: { arch: 'dear', channels: 4, fc: 16, dFc: 16, dJointFc: 16, resnet: 18, resnetWidth: 4 },
    train: { steps: 3, batchSize: 4, logEvery: 1, sampleEvery: 3, checkpointEvery: 3 },
  });
  const out = mkdtempSync(join(tmpdir(), 'ccig-dear-'));
  const r = await train({ config, data, outDir: out });
  assert.equal(r.step, 3);
  assert.ok(Object.values(r.losses).every(Number.isFinite), JSON.stringify(r.losses));
});
