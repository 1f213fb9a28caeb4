/**
 * The `ccig` command line. Each subcommand validates its options (zod), prints one clear
 * message and exits non-zero on a user mistake (exit 2), and shows progress on long work.
 */
import { Command } from 'commander';
import { DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE } from '../server/server.ts';
import { calibrateCommand } from './calibrate.ts';
import { dataCommand } from './data.ts';
import { demoCommand } from './demo.ts';
import { evalCommand } from './eval.ts';
import { infoCommand } from './info.ts';
import { counterfactualCommand, interveneCommand, sampleCommand, traverseCommand } from './ops.ts';
import { serveCommand } from './serve.ts';
import { structureCommand } from './structure.ts';
import { trainCommand } from './train.ts';
import { addTrainFlags } from './train-flags.ts';
import { DEVICE_HELP, runCommand, setDebug } from './util.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const deviceOpt = ['--device <name>', DEVICE_HELP] as const;

export function buildProgram(): Command {
  const program = new Command('ccig')
    .description('Causal controllable image generation: train CCIG models, edit images by intervention.')
    .version('0.1.0')
    .showHelpAfterError()
    .option('--debug', 'print stack traces with error messages (also CCIG_DEBUG=1)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .hook('preAction', (root) => setDebug(Boolean(root.opts().debug)));

  program
    .command('demo')
    .description(
      'Pendulum end to end: data, pretrained model, interventions, counterfactuals, evaluation, HTML report',
    )
    .option('--out <dir>', 'output folder', 'ccig-demo')
    .option(
      '--structure <mode>',
      'given: the shipped model trained with the true graph; learned: the shipped model whose graph was learned',
      'given',
    )
    .option(
      '--train',
      'train pendulum-small from scratch instead of using the shipped checkpoint (about 30-60 min on 2 cores)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ccig demo\n  ccig demo --out /tmp/demo\n  ccig demo --structure learned\n  ccig demo --train',
    )
    .action((o) => runCommand(() => demoCommand(o)));

  program
    .command('data')
    .description('Render a synthetic world to disk, draw a contact sheet, or build a dataset cache')
    .argument('<action>', 'world | sheet | cache')
    .option('--world <name>', 'pendulum | flow | garden | random', 'pendulum')
    .option('--graph-seed <n>', 'random world: seed of its graph, mechanisms and noise shares (default 0)')
    .option('--nodes <n>', 'random world: number of nodes, 3 to 12 (default 5)')
    .option('--graph <family>', 'random world: er (Erdos-Renyi) | sf (scale-free) (default er)')
    .option('--degree <d>', 'random world: expected neighbours per node, 2 |E| / nodes (default 1.5)')
    .option('--out <path>', 'output folder (world) or PNG file (sheet)')
    .option('--count <n>', 'number of images (world)', '10000')
    .option('--size <px>', 'image size', '64')
    .option('--seed <n>', 'seed', '0')
    .option(
      '--interventional <fraction>',
      'world: fraction of images drawn under do(node = value), one node per image; labels.csv gets an intervened column',
      '0',
    )
    .option('--celeba <dir>', 'CelebA root (cache)')
    .option('--folder <dir>', 'labelled folder with labels.csv (cache)')
    .option('--attributes <list>', 'comma-separated attribute names (cache)')
    .option('--strict', 'stop on the first unreadable image instead of skipping it (CelebA, folders)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ccig data world --world pendulum --count 10000 --out data/pendulum\n  ccig data world --world pendulum --interventional 0.2 --out data/pendulum-do\n  ccig data sheet --world flow --out flow.png\n  ccig data world --world random --graph sf --nodes 8 --graph-seed 3 --interventional 0.2 --out data/random-sf8\n  ccig data sheet --world random --graph sf --nodes 8 --graph-seed 3 --out random.png\n  ccig data cache --celeba ~/celeba --attributes Smiling,Male',
    )
    .action((action, o) => runCommand(() => dataCommand(action, o)));

  addTrainFlags(
    program.command('train').description('Train a CCIG model from a preset or config file'),
    'train',
  )
    .addHelpText(
      'after',
      '\nData-parallel: --nproc N on one machine; across machines, start one process per rank with\nMASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK set (torchrun convention, srun, Kubernetes).\n\nExamples:\n  ccig train --preset pendulum-small --structure learned\n  ccig train --preset pendulum-small --nproc 2\n  ccig train --preset celeba-smile --data ~/celeba --device cuda\n  ccig train --preset celeba-smile --data ~/celeba --steps 2000\n  ccig train --preset pendulum-small --config my.json --out runs/mine',
    )
    .action((o) => runCommand(() => trainCommand(o, false)));

  addTrainFlags(
    program.command('resume').description('Continue a run from its checkpoint (exactly where it stopped)'),
    'resume',
  )
    .addHelpText('after', '\nExample:\n  ccig resume --out runs/pendulum-small-given --steps 8000')
    .action((o) => runCommand(() => trainCommand(o, true)));

  const checkpointOpt = ['--checkpoint <file>', 'a trained checkpoint (.safetensors)'] as const;

  program
    .command('sample')
    .description('Random images from the model')
    .requiredOption(...checkpointOpt)
    .option('--n <n>', 'number of images', '16')
    .option('--seed <n>', 'seed', '0')
    .option('--out <file>', 'PNG file', 'samples.png')
    .option(...deviceOpt)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  ccig sample --checkpoint runs/x/checkpoint.safetensors --n 32 --out s.png',
    )
    .action((o) => runCommand(() => sampleCommand(o)));

  program
    .command('intervene')
    .description('do(attribute = value) on random samples: causal edit next to the non-causal edit')
    .requiredOption(...checkpointOpt)
    .option('--do <name=value>', 'an intervention, in label units (repeatable)', collect, [])
    .option('--n <n>', 'number of samples', '8')
    .option('--seed <n>', 'seed', '0')
    .option('--out <file>', 'PNG file', 'intervene.png')
    .option(...deviceOpt)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  ccig intervene --checkpoint ckpt.safetensors --do light_angle=120 --out do.png',
    )
    .action((o) => runCommand(() => interveneCommand(o)));

  program
    .command('counterfactual')
    .description('This image, had the attribute been different: encode, abduct, do(), decode')
    .requiredOption(...checkpointOpt)
    .requiredOption(
      '--image <file>',
      'an image file (PNG/JPEG), preprocessed like the training data (CelebA models: see below)',
    )
    .option('--do <name=value>', 'an intervention, in label units (repeatable)', collect, [])
    .option(
      '--refine <steps>',
      'fit the free latents to the image for this many steps after encoding (keeps the person; 100 is a good start)',
      '0',
    )
    .option(
      '--residual',
      "edit as image + G(z_do) - G(z): what the edit does not touch keeps the photo's own pixels",
    )
    .option('--out <file>', 'PNG file', 'counterfactual.png')
    .option(...deviceOpt)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      "\nExample:\n  ccig counterfactual --checkpoint ckpt.safetensors --image face.jpg --do Smiling=1\n\nFaces (CelebA models) are cropped with CelebA's recipe: the centred square of 128/178 of the\nshorter side (128 x 128 of a 178 x 218 aligned CelebA image), resized to the model's size.\nGive a photo framed like img_align_celeba: one upright face, centred, filling about 3/4 of\nthe width. Output columns: input | reconstruction | counterfactual | non-causal edit.",
    )
    .action((o) => runCommand(() => counterfactualCommand(o)));

  program
    .command('traverse')
    .description('Vary one attribute over its range, the rest fixed (causal and non-causal rows)')
    .requiredOption(...checkpointOpt)
    .requiredOption('--attribute <name>', 'the attribute to vary')
    .option('--steps <n>', 'values across the range', '8')
    .option('--n <n>', 'number of samples (rows)', '4')
    .option('--seed <n>', 'seed', '0')
    .option('--out <file>', 'PNG file', 'traverse.png')
    .option(...deviceOpt)
    .option('--json', 'print the result as JSON')
    .action((o) => runCommand(() => traverseCommand(o)));

  program
    .command('eval')
    .description(
      'Evaluate a checkpoint: graph, alignment, interventions, counterfactual axioms (composition, reversibility, effectiveness, minimality, CDM), image quality; JSON + HTML report',
    )
    .requiredOption(...checkpointOpt)
    .option('--data <dir>', 'dataset root (CelebA or folder checkpoints)')
    .option('--out <dir>', 'report folder', 'report')
    .option('--n <n>', 'test images to evaluate (every section; each image gets its own targets)', '1000')
    .option('--oracle <file>', 'a trained oracle (default: cached, or trained now)')
    .option('--strict', 'stop on the first unreadable image instead of skipping it (CelebA, folders)')
    .option('--oracle-steps <n>', 'training steps when the oracle is trained now', '1500')
    .option('--threads <n>', 'CPU threads (default all cores)')
    .option(...deviceOpt)
    .option('--resamples <n>', 'bootstrap resamples for the stability of each edge (0 = skip)', '20')
    .option('--refine <steps>', "fit each test image's free latents for this many steps after encoding", '0')
    .option('--residual', 'edit real images as image + G(z_do) - G(z) (labelled data; worlds re-render)')
    .option(
      '--split <name>',
      'held-out split: test, or valid to choose a checkpoint without the test images (CelebA, folders)',
      'test',
    )
    .option('--json', 'print the metrics as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  ccig eval --checkpoint runs/pendulum-small-given/checkpoint.safetensors --out report',
    )
    .action((o) => runCommand(() => evalCommand(o)));

  program
    .command('serve')
    .description('Start the web editor for a checkpoint')
    .requiredOption(...checkpointOpt)
    .option('--port <n>', 'port', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option(
      '--refine <steps>',
      "fit an uploaded image's free latents for this many steps after encoding (keeps the person)",
      '0',
    )
    .option(
      '--max-queue <n>',
      'requests that may wait for the model at once; more get 503 with Retry-After',
      String(DEFAULT_MAX_QUEUE),
    )
    .option('--max-batch <n>', 'the most edits decoded in one generator pass', String(DEFAULT_MAX_BATCH))
    .option('--threads <n>', 'CPU threads for the model (default all cores)')
    .option(
      '--edit <kind>',
      "how uploaded images are edited: residual (image + G(z_do) - G(z)), plain (G(z_do)), or the checkpoint's recorded default",
    )
    .option('--show-all', 'offer every attribute, also those the checkpoint records as failing the checks')
    .option(...deviceOpt)
    .action((o) => runCommand(() => serveCommand(o)));

  program
    .command('calibrate')
    .description(
      'Store in a checkpoint where real images of each class lie (do() values for binary attributes) and, from an eval report, which attributes the editor offers',
    )
    .requiredOption(...checkpointOpt)
    .requiredOption('--out <file>', 'the calibrated checkpoint (may be the same file)')
    .option('--data <dir>', 'dataset root: class latents from its training images')
    .option('--n <n>', 'training images read (default all)')
    .option('--report <file>', "a ccig eval report.json: record each attribute's edits passing (editable)")
    .option('--threads <n>', 'CPU threads (default all cores)')
    .option('--strict', 'stop on the first unreadable image instead of skipping it')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  ccig calibrate --checkpoint models/celeba-smile-small.safetensors --data ~/celeba --out calibrated.safetensors\n  ccig eval --checkpoint calibrated.safetensors --data ~/celeba --residual --out report\n  ccig calibrate --checkpoint calibrated.safetensors --report report/report.json --out calibrated.safetensors\n\nWithout class latents do(a = 1) sets the logit of 0.999 (6.9), far from where the encoder puts\nreal faces labelled 1; with them, the median latent of those faces.',
    )
    .action((o) => runCommand(() => calibrateCommand(o)));

  program
    .command('info')
    .description(
      'What a checkpoint holds (preset, attributes, graph with edge stability, step, metrics), or with --engine the libtorch, CUDA and GPUs in use',
    )
    .argument('[checkpoint]', 'a .safetensors checkpoint')
    .option('--engine', 'print the libtorch version, its CUDA version and the devices')
    .option(
      '--stability',
      "measure each edge's bootstrap stability now on held-out data (else read edge-stability.json beside the checkpoint)",
    )
    .option('--data <dir>', 'dataset root for --stability (CelebA or folder checkpoints)')
    .option('--resamples <n>', 'bootstrap resamples for --stability', '20')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  ccig info runs/x/checkpoint.safetensors\n  ccig info --engine')
    .action((path, o) => runCommand(() => infoCommand(path, o)));

  program
    .command('structure')
    .description(
      'Search the causal graph of a table (one column per attribute, optional intervened column): each edge determined (->) or not (--) by the data, with its stability',
    )
    .argument('<file>', "a CSV: a header of attribute names (a 'file' column is ignored), one row per sample")
    .option('--resamples <n>', "half-size subsamples for each edge's stability (0: none)", '20')
    .option('--method <name>', 'auto (exact up to 16 attributes, greedy beyond) | exact | greedy', 'auto')
    .option(
      '--score <name>',
      'knn (nonlinear mechanisms) | linear (linear-Gaussian; takes --reading-error)',
      'knn',
    )
    .option(
      '--reading-error <share>',
      "values read with noise of this share of each column's sd (e.g. 0.15); linear score only",
    )
    .option('--rows <n>', 'use the first n rows at most', '2000')
    .option('--require <edge>', "an edge every graph must have, 'cause->effect' (repeatable)", collect, [])
    .option('--forbid <edge>', "an edge no graph may have, 'cause->effect' (repeatable)", collect, [])
    .option('--seed <n>', 'seed of the subsamples', '0')
    .option('--json', 'print { nodes, edges: [{ from, to, directed, stability, markStability }] }')
    .addHelpText(
      'after',
      "\nExamples:\n  ccig structure out/pendulum/labels.csv\n  ccig structure labels.csv --resamples 0 --json\n  ccig structure labels.csv --require 'light_angle->shadow_length' --forbid 'a->b'\n  ccig structure labels.csv --score linear --reading-error 0.15",
    )
    .action((file, o) => runCommand(() => structureCommand(file, o)));

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
