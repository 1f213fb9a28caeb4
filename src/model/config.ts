/**
 * Model and training configuration: typed data with defaults, validated with one schema.
 * A preset is a complete config; a config file (JSON) overrides any part of one, and unknown
 * keys or wrong types are rejected with the path that is wrong.
 */
import { z } from 'zod';
import { EXACT_SEARCH_MAX_NODES, MAX_STRUCTURE_NODES } from '../causal/exact-search.ts';
import { MECHANISMS, PARENT_MODELS, STRUCTURE_MODES, STRUCTURE_SCORES } from '../causal/scm.ts';
import { CELEBA_PRESETS, CELEBA_SEX_EDGES, type CelebAPresetName } from '../data/celeba.ts';
import { OptionError } from '../errors.ts';
import { expectOneOf } from '../options.ts';

const edge = z.tuple([z.string(), z.string()]);

export const ConfigSchema = z.strictObject({
  /** preset name this config started from */
  preset: z.string(),
  /** where images come from: a synthetic world, CelebA, or a labelled folder */
  data: z.strictObject({
    kind: z.enum(['world', 'celeba', 'folder']),
    /** world name (pendulum, flow, garden) for kind world */
    world: z.string().optional(),
    /** number of generated training images for kind world */
    worldSize: z.number().int().positive().default(10000),
    /**
     * kind world: fraction of images rendered under do(node = value) for one node drawn
     * uniformly, the rest observational (0 = observational). Folders record regimes per row in
     * labels.csv's `intervened` column instead; CelebA is observational.
     */
    interventional: z.number().min(0).max(1).optional(),
    /** dataset root (celeba, folder); may be given on the command line instead */
    path: z.string().optional(),
  }),
  /** 32 is the fallback for CPU budgets too small for 64 (see docs/results/celeba.md) */
  imageSize: z.union([z.literal(32), z.literal(64), z.literal(128)]),
  /** causal attributes, in latent order (z_c) */
  attributes: z.array(z.string()).min(1),
  /** kind of each attribute's label: binary -> BCE; continuous -> min-max to [0,1], then BCE */
  scm: z.strictObject({
    structure: z.enum(STRUCTURE_MODES),
    /** super-graph or true graph [cause, effect] (required for `given`, reported against otherwise) */
    edges: z.array(edge),
    mechanism: z.enum(MECHANISMS),
    /** how a node depends on its parents: linear (u A) or a small MLP per node (NOTEARS-MLP) */
    parents: z.enum(PARENT_MODELS).default('linear'),
    /**
     * score of the SCM-consistency loss (see structureScore in src/causal/scm.ts): `nv`, the
     * Gaussian likelihood with one variance per node (DCDI, GOLEM-NV), or `ls`, least squares in
     * each node's own units. Absent: nv.
     */
    score: z.enum(STRUCTURE_SCORES).optional(),
    /**
     * how `learned` finds the graph: `exact`, the best DAG under the masked likelihood score over
     * every DAG, searched on the encoder's latents every train.searchEvery steps (causal/
     * exact-search.ts; A is then trained on that graph), or `notears`, A learned by gradient under
     * the acyclicity constraint (the paper's). New configs (resolveConfig): exact; absent in
     * older configs: notears.
     */
    search: z.enum(['notears', 'exact']).optional(),
    /**
     * `learned` by exact search: edges [cause, effect] every graph found must have (a direction
     * the data leave undetermined, fixed by the user) and edges none may have (causal/search.ts)
     */
    required: z.array(edge).optional(),
    forbidden: z.array(edge).optional(),
  }),
  /** free latent dims k (identity, background, ...) */
  zFree: z.number().int().min(0),
  net: z.strictObject({
    /** base conv width (DEAR conv_dim); doubles at each stride-2 stage */
    channels: z.number().int().positive(),
    /** width of the encoder/generator fully connected layer */
    fc: z.number().int().positive(),
    /** width of the discriminator's latent and joint branches (DEAR: 512 / 1024) */
    dFc: z.number().int().positive(),
    dJointFc: z.number().int().positive(),
    /**
     * network family: 'dcgan' (default: plain conv stages, sized for CPUs) or 'dear' (DEAR's
     * ResNet encoder, SAGAN generator and joint discriminator, model/dear.ts; there `fc` is the
     * encoder's fc width, `dFc` the discriminator MLPs' width, and `dJointFc` is unused)
     */
    arch: z.enum(['dcgan', 'dear']).optional(),
    /** 'dear' only: the encoder's ResNet depth (default 50, as DEAR) */
    resnet: z.union([z.literal(18), z.literal(50)]).optional(),
    /** 'dear' only: ResNet's base width (default 64; smaller only for tests) */
    resnetWidth: z.number().int().positive().optional(),
  }),
  train: z.strictObject({
    seed: z.number().int().min(0),
    batchSize: z.number().int().positive(),
    steps: z.number().int().positive(),
    lrG: z.number().positive(),
    lrE: z.number().positive(),
    lrD: z.number().positive(),
    /** lr of the prior's mechanism parameters */
    lrPrior: z.number().positive(),
    /** lr of the adjacency A */
    lrA: z.number().positive(),
    /** Adam betas of E, G, D and the prior's mechanism (DEAR: beta1 0, beta2 0.999) */
    betas: z.tuple([z.number().min(0).max(0.9999), z.number().min(0).max(0.9999)]),
    /** Adam betas of A (or the MLP parent model): DEAR's A optimizer keeps PyTorch's default (0.9, 0.999) */
    betasA: z.tuple([z.number().min(0).max(0.9999), z.number().min(0).max(0.9999)]).default([0.9, 0.999]),
    lambdaSup: z.number().min(0),
    /**
     * how continuous labels supervise their causal latents: `bce` on min-max scaled targets
     * (logit latents), or `mse` in standardized units ((v - mean) / std latents). Binary labels
     * always use BCE. Absent in older configs: `bce`.
     */
    continuousSupervision: z.enum(['bce', 'mse']).optional(),
    /** weight of the SCM-consistency loss on encoder latents (0 turns it off) */
    lambdaScm: z.number().min(0),
    /**
     * weight of the latent cycle loss ||mu_E(G(z))_c - z_c||^2 (0 turns it off): G must draw what
     * z_c says, as the supervised encoder reads it. It trains G only: the encoder is frozen and z
     * is detached, so the prior gets no gradient from it. Not in the paper; see
     * docs/results/pendulum.md.
     */
    lambdaCyc: z.number().min(0).default(0),
    /**
     * weight of the image reconstruction loss |G(mu_E(x)) - x|_1 (absent or 0: off). It trains E
     * and G together, as ALICE's cycle consistency does for BiGANs: the adversarial game alone
     * matches the joints but leaves G(E(x)) free to be another face, and every counterfactual
     * of a real image is decoded from E(x). Not in the paper; see docs/results/celeba.md.
     */
    lambdaRec: z.number().min(0).optional(),
    /**
     * horizontal-flip augmentation of training images, labels unchanged (faces are left-right
     * symmetric in every CelebA attribute the presets use; the synthetic worlds are not)
     */
    flip: z.boolean().default(false),
    /** fraction of training examples whose labels are used */
    supProp: z.number().min(0).max(1),
    /** L1 on A (learned mode) */
    l1A: z.number().min(0),
    /** augmented Lagrangian for h(A) (learned mode) */
    dag: z.strictObject({
      rhoInit: z.number().positive(),
      rhoMax: z.number().positive(),
      rhoGrowth: z.number().min(1),
      hShrink: z.number().positive().max(1),
      updateEvery: z.number().int().positive(),
    }),
    /**
     * bootstrap resamples for each edge's stability, measured on held-out latents when `ccig
     * train` finishes and written to edge-stability.json (0: skip; absent: 20)
     */
    stabilityResamples: z.number().int().min(0).optional(),
    /** exact search: steps between searches (absent: 250) and training images encoded for one (absent: 1000) */
    searchEvery: z.number().int().positive().optional(),
    searchRows: z.number().int().min(10).optional(),
    logEvery: z.number().int().positive(),
    sampleEvery: z.number().int().positive(),
    checkpointEvery: z.number().int().positive(),
    /**
     * steps between weights-only snapshots kept in snapshots/step-N.safetensors (absent: none):
     * the checkpoints a run's later choice (by a validation figure) picks from, since
     * checkpoint.safetensors holds only the latest step
     */
    snapshotEvery: z.number().int().positive().optional(),
  }),
});

export type CcigConfig = z.infer<typeof ConfigSchema>;

const smallTrain: CcigConfig['train'] = {
  seed: 0,
  batchSize: 64,
  steps: 6000,
  lrG: 2e-4,
  lrE: 2e-4,
  lrD: 2e-4,
  lrPrior: 2e-4,
  lrA: 1e-3,
  betas: [0, 0.999],
  betasA: [0.9, 0.999],
  // DEAR's supervision weight (sup_coef)
  lambdaSup: 5,
  // continuous labels in standardized units: BCE targets at a range's ends drive the logit
  // latents towards infinity, outliers to the structure score (docs/results/structure.md)
  continuousSupervision: 'mse',
  lambdaScm: 1,
  lambdaCyc: 1,
  flip: false,
  supProp: 1,
  l1A: 1e-3,
  dag: { rhoInit: 1, rhoMax: 1e4, rhoGrowth: 2, hShrink: 0.5, updateEvery: 200 },
  logEvery: 50,
  sampleEvery: 500,
  checkpointEvery: 500,
};

/** DEAR's optimizer settings (docs/method.md section 2). */
const dearTrain: CcigConfig['train'] = {
  ...smallTrain,
  batchSize: 128,
  lrG: 5e-5,
  lrE: 5e-5,
  lrD: 1e-4,
  lrPrior: 5e-5,
  lrA: 1e-3,
};

/** How often runs of tens of thousands of steps log, draw sample grids and save. */
const LONG_RUN_EVERY = { logEvery: 100, sampleEvery: 1000, checkpointEvery: 1000 };

/** The networks of the CPU presets. */
const SMALL_NET: CcigConfig['net'] = { channels: 16, fc: 256, dFc: 256, dJointFc: 256 };
/** DEAR's convolution widths with narrower fully connected layers: the CPU face presets. */
const FACE_SMALL_NET: CcigConfig['net'] = { channels: 32, fc: 256, dFc: 256, dJointFc: 512 };
/** Plain conv stages at DEAR's widths. */
const WIDE_NET: CcigConfig['net'] = { channels: 32, fc: 512, dFc: 512, dJointFc: 1024 };
/** DEAR's networks at DEAR's widths (run_celeba_smile.sh, run_pendulum.sh, config.py). */
const DEAR_NET: CcigConfig['net'] = {
  arch: 'dear',
  channels: 32,
  fc: 1024,
  dFc: 512,
  dJointFc: 512,
  resnet: 50,
  resnetWidth: 64,
};
/** Seconds on a CPU: tests and smoke runs. */
const TINY_NET: CcigConfig['net'] = { channels: 4, fc: 16, dFc: 16, dJointFc: 16 };

type Edges = [string, string][];

/** Each synthetic world's attributes, in latent order, and its true graph [cause, effect]. */
const WORLDS: Record<'pendulum' | 'flow' | 'garden', { attributes: string[]; edges: Edges }> = {
  pendulum: {
    attributes: ['pendulum_angle', 'light_angle', 'shadow_length', 'shadow_position'],
    edges: [
      ['pendulum_angle', 'shadow_length'],
      ['pendulum_angle', 'shadow_position'],
      ['light_angle', 'shadow_length'],
      ['light_angle', 'shadow_position'],
    ],
  },
  flow: {
    attributes: ['ball_size', 'hole_height', 'water_height', 'water_flow'],
    edges: [
      ['ball_size', 'water_height'],
      ['water_height', 'water_flow'],
      ['hole_height', 'water_flow'],
    ],
  },
  garden: {
    attributes: ['sun_angle', 'temperature', 'plant_height', 'flower_size'],
    edges: [
      ['sun_angle', 'plant_height'],
      ['temperature', 'plant_height'],
      ['plant_height', 'flower_size'],
    ],
  },
};

/**
 * A preset on a synthetic world: 64 x 64 images of 10,000 generated scenes, the world's true
 * graph given, linear mechanisms and parents, 4 free latents, unless `parts` says otherwise.
 */
function worldPreset(
  preset: string,
  world: keyof typeof WORLDS,
  parts: Pick<CcigConfig, 'net' | 'train'> & {
    scm?: Partial<CcigConfig['scm']>;
    zFree?: number;
    worldSize?: number;
  },
): CcigConfig {
  const { attributes, edges } = WORLDS[world];
  return {
    preset,
    data: { kind: 'world', world, worldSize: parts.worldSize ?? 10000 },
    imageSize: 64,
    attributes,
    scm: { structure: 'given', edges, mechanism: 'linear', parents: 'linear', ...parts.scm },
    zFree: parts.zFree ?? 4,
    net: parts.net,
    train: parts.train,
  };
}

/**
 * A preset on CelebA faces: 64 x 64, one of DEAR's attribute sets with its super-graph (plus
 * `extraEdges`) given, linear SCM, 100 latents in all as DEAR.
 */
function celebaPreset(
  preset: string,
  name: CelebAPresetName,
  parts: Pick<CcigConfig, 'net' | 'train'> & { extraEdges?: readonly (readonly [string, string])[] },
): CcigConfig {
  const { attributes, edges } = CELEBA_PRESETS[name];
  return {
    preset,
    data: { kind: 'celeba', worldSize: 10000 },
    imageSize: 64,
    attributes: [...attributes],
    scm: {
      structure: 'given',
      edges: [...edges, ...(parts.extraEdges ?? [])].map(([a, b]) => [a, b] as [string, string]),
      mechanism: 'linear',
      parents: 'linear',
    },
    zFree: 100 - attributes.length,
    net: parts.net,
    train: parts.train,
  };
}

/** DEAR's widths and optimizer on plain conv stages, 60,000 steps of 128. */
const celebaWide = (name: CelebAPresetName) =>
  celebaPreset(`celeba-${name}`, name, {
    net: WIDE_NET,
    train: { ...dearTrain, steps: 60000, ...LONG_RUN_EVERY },
  });

/**
 * The CPU presets for faces: 64 x 64, DEAR's convolution widths (channels 32) with
 * narrower fully connected layers, pendulum-small's optimizer, flips, 11,000 steps of 64.
 * Sized by a measured rate (docs/results/celeba.md, "Sizing"): celeba-smile-small trains at
 * 86-87 img/s on this project's quiet 2-core machine (`npm run bench -- train`), so 11,000 steps
 * x 64 images take 2.3 hours of the 2.5-hour budget (16,000 would take 3.3); a model at 7,000
 * steps already edits held-out faces by Smiling (celeba.md, "Results"). `celeba-smile-small` adds
 * Male -> High_Cheekbones and Male -> Chubby to DEAR's super-graph (CELEBA_SEX_EDGES): the
 * dependence of the labels on sex.
 */
const celebaSmall = (name: CelebAPresetName) =>
  celebaPreset(`celeba-${name}-small`, name, {
    extraEdges: CELEBA_SEX_EDGES[name],
    net: FACE_SMALL_NET,
    train: { ...smallTrain, steps: 11000, flip: true, ...LONG_RUN_EVERY },
  });

/**
 * DEAR's own CelebA setting: DEAR's networks, 100 latents, batch 128; 200 epochs of CelebA's
 * 162,770 training faces at batch 128.
 */
const celebaDear = (name: CelebAPresetName) =>
  celebaPreset(`celeba-${name}-dear`, name, {
    net: DEAR_NET,
    train: { ...dearTrain, steps: 254_000, logEvery: 100, sampleEvery: 2000, checkpointEvery: 2000 },
  });

/**
 * Presets. `*-small` are sized for 2 CPU cores (a useful Pendulum model in under an hour, a
 * CelebA model in 2.3 hours); the others use DEAR's widths and optimizer settings.
 *
 * | preset         | data          | m | k  | conv width | fc  | D fc/joint | batch | steps  |
 * | pendulum-small | pendulum 64px | 4 | 4  | 16         | 256 | 256/256    | 64    | 6,000  |
 * | pendulum       | pendulum 64px | 4 | 4  | 32         | 512 | 512/1024   | 128   | 60,000 |
 * | flow-small     | flow 64px     | 4 | 4  | 16         | 256 | 256/256    | 64    | 6,000  |
 * | garden-small   | garden 64px   | 4 | 4  | 16         | 256 | 256/256    | 64    | 6,000  |
 * | celeba-smile-small | CelebA 64px, flips | 6 | 94 | 32    | 256 | 256/512    | 64    | 11,000 |
 * | celeba-age-small   | CelebA 64px, flips | 6 | 94 | 32    | 256 | 256/512    | 64    | 11,000 |
 * | celeba-smile   | CelebA 64px   | 6 | 94 | 32         | 512 | 512/1024   | 128   | 60,000 |
 * | celeba-age     | CelebA 64px   | 6 | 94 | 32         | 512 | 512/1024   | 128   | 60,000 |
 *
 * `*-dear` presets use DEAR's networks (ResNet-50 encoder with fc 1024, SAGAN generator and
 * discriminator at width 32, discriminator MLPs 512), learning rates and batch size: GPU jobs.
 * | pendulum-dear    | pendulum 64px | 4 | 2  | latent 6 as DEAR; linear SCM      | 128 | 43,000  |
 * | celeba-smile-dear| CelebA 64px   | 6 | 94 | latent 100 as DEAR                | 128 | 254,000 |
 * | celeba-age-dear  | CelebA 64px   | 6 | 94 | latent 100 as DEAR                | 128 | 254,000 |
 */
export const PRESETS: Record<string, CcigConfig> = {
  'pendulum-small': worldPreset('pendulum-small', 'pendulum', { net: SMALL_NET, train: smallTrain }),
  pendulum: worldPreset('pendulum', 'pendulum', {
    scm: { mechanism: 'nonlinear' },
    net: WIDE_NET,
    train: { ...dearTrain, steps: 60000, ...LONG_RUN_EVERY },
  }),
  'flow-small': worldPreset('flow-small', 'flow', { net: SMALL_NET, train: smallTrain }),
  /**
   * The Garden world, built for learning its graph from observational data: `learned` with MLP
   * parents (its edges are nonlinear), the true graph as the edges it is reported against
   * (`--structure given` uses them as the graph).
   */
  'garden-small': worldPreset('garden-small', 'garden', {
    scm: { structure: 'learned', parents: 'mlp' },
    net: SMALL_NET,
    train: smallTrain,
  }),
  'celeba-smile': celebaWide('smile'),
  'celeba-age': celebaWide('age'),
  'celeba-smile-small': celebaSmall('smile'),
  'celeba-age-small': celebaSmall('age'),
  /** ten face attributes (CELEBA_PRESETS.faces10, each edge with its reason); defined, not yet trained */
  'celeba-faces10-small': celebaSmall('faces10'),
  // DEAR: 1,000 epochs of CausalVAE's 5,482 pendulum images at batch 128
  'pendulum-dear': worldPreset('pendulum-dear', 'pendulum', {
    zFree: 2,
    net: DEAR_NET,
    train: { ...dearTrain, steps: 43_000, ...LONG_RUN_EVERY },
  }),
  'celeba-smile-dear': celebaDear('smile'),
  'celeba-age-dear': celebaDear('age'),
  /** a tiny model for tests and smoke runs (seconds on a CPU) */
  tiny: worldPreset('tiny', 'pendulum', {
    worldSize: 256,
    zFree: 2,
    net: TINY_NET,
    train: {
      ...smallTrain,
      batchSize: 8,
      steps: 20,
      logEvery: 5,
      sampleEvery: 10,
      checkpointEvery: 10,
      stabilityResamples: 0,
    },
  }),
};

export const PRESET_NAMES = Object.keys(PRESETS);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key; arrays and scalars replace. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeConfig(base[k], v) : v;
  return out;
}

/** Validates a full config; the message names every wrong path. */
export function parseConfig(raw: unknown, source = 'config'): CcigConfig {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new OptionError(`${source} is not valid:\n${lines.join('\n')}`);
  }
  const cfg = r.data;
  if (cfg.scm.structure === 'given' && cfg.scm.edges.length === 0)
    throw new OptionError(`${source}: structure 'given' needs scm.edges`);
  for (const key of ['required', 'forbidden'] as const) {
    const list = cfg.scm[key] ?? [];
    if (list.length > 0 && !(cfg.scm.structure === 'learned' && cfg.scm.search === 'exact'))
      throw new OptionError(
        `${source}: scm.${key} constrains a learned graph's search: it needs scm.structure 'learned' and scm.search 'exact'`,
      );
    for (const [from, to] of list)
      for (const name of [from, to])
        if (!cfg.attributes.includes(name))
          throw new OptionError(
            `${source}: scm.${key} edge ${from} -> ${to} names '${name}', not an attribute (${cfg.attributes.join(', ')})`,
          );
  }
  return cfg;
}

/** A preset by name, with optional overrides (a partial config) merged in and validated. */
export function resolveConfig(preset: string, overrides: unknown = {}, source = 'config'): CcigConfig {
  const base = structuredClone(PRESETS[expectOneOf(preset, PRESET_NAMES, 'preset')]);
  // new runs learn a graph by exact search unless told otherwise (saved configs without the
  // field keep NOTEARS, which they were trained with)
  base.scm.search ??= 'exact';
  const merged = mergeConfig(base, overrides) as CcigConfig;
  // a learned graph gets MLP parents unless the overrides choose: a linear parent cannot express
  // Pendulum's shadow length (a max of the two angles), so its weights miss true edges
  const chosen = (overrides as { scm?: { parents?: unknown } } | undefined)?.scm?.parents;
  if (merged.scm?.structure === 'learned' && chosen === undefined) merged.scm.parents = 'mlp';
  const cfg = parseConfig(merged, source);
  checkStructureLimits(cfg, source);
  return cfg;
}

export interface StructureLimits {
  /** why this config's own graph search cannot run (training would fail at its first search) */
  search?: string;
  /** why the edge-stability step (end of ccig train, ccig eval, ccig info --stability) is skipped */
  edgeStability?: string;
}

/**
 * What the structure searches cannot do for a config, known before any training: the one place
 * their limits are read. The structure search (causal/search.ts: exact up to
 * EXACT_SEARCH_MAX_NODES attributes, greedy beyond) takes at most MAX_STRUCTURE_NODES; it finds a
 * `learned` graph with scm.search 'exact' and measures edge stability for every graph but one
 * NOTEARS learned.
 */
export function structureLimits(cfg: CcigConfig): StructureLimits {
  const m = cfg.attributes.length;
  if (cfg.scm.structure === 'none' || m <= MAX_STRUCTURE_NODES) return {};
  const learned = cfg.scm.structure === 'learned';
  const search = cfg.scm.search ?? 'notears';
  const out: StructureLimits = {};
  if (learned && search === 'exact')
    out.search = `the structure search (scm.search 'exact': exact up to ${EXACT_SEARCH_MAX_NODES} attributes, greedy beyond) takes at most ${MAX_STRUCTURE_NODES} attributes and this config has ${m}: use --search notears (scm.search "notears"), or --structure given with scm.edges, or at most ${MAX_STRUCTURE_NODES} attributes`;
  if (!(learned && search === 'notears'))
    out.edgeStability = `edge stability runs the structure search, which takes at most ${MAX_STRUCTURE_NODES} attributes, and this graph has ${m}`;
  return out;
}

/** Refuses a config whose structure search cannot run (structureLimits), naming the option to change. */
export function checkStructureLimits(cfg: CcigConfig, source = 'config'): void {
  const { search } = structureLimits(cfg);
  if (search) throw new OptionError(`${source}: ${search}`);
}

/** Total latent size m + k. */
export function latentDim(cfg: CcigConfig): number {
  return cfg.attributes.length + cfg.zFree;
}
