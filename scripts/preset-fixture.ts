/**
 * Prints test/fixtures/presets.json: every preset as resolveConfig builds it and as PRESETS holds
 * it. Regenerate only for a deliberate change to a preset:
 *   node --import tsx scripts/preset-fixture.ts > test/fixtures/presets.json && npx biome format --write test/fixtures/presets.json
 */
import { PRESET_NAMES, PRESETS, resolveConfig } from '../src/model/config.ts';

const resolved = Object.fromEntries(PRESET_NAMES.map((name) => [name, resolveConfig(name)]));
const raw = Object.fromEntries(PRESET_NAMES.map((name) => [name, PRESETS[name]]));
process.stdout.write(`${JSON.stringify({ resolved, raw }, null, 2)}\n`);
