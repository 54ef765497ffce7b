/**
 * Summarises a V8 CPU profile (node --cpu-prof; bench/auth.ts --cpu-prof DIR) by self time: per
 * package (node_modules/<name>, our own layers, node internals) and the top functions.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const top = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
// Steady state only: keep the 100 ms slices in which the process was busy at least 70% of the time, so
// start-up (module compilation) and the rounds in which the load hit the other server drop out.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const slices = new Map<number, { busy: number; all: number }>();
let clock = 0;
const sliceOf = profile.samples.map((id, i) => {
  clock += profile.timeDeltas[i] ?? 0;
  const slice = Math.floor(clock / 100_000);
  const entry = slices.get(slice) ?? { busy: 0, all: 0 };
  entry.all += profile.timeDeltas[i] ?? 0;
  if (!idleIds.has(id)) entry.busy += profile.timeDeltas[i] ?? 0;
  slices.set(slice, entry);
  return slice;
});
const steady = process.env['PROFILE_ALL'] !== '1';
// PROFILE_FROM_S: ignore the first seconds (start-up compiles every module under tsx).
const fromSlice = Number(process.env['PROFILE_FROM_S'] ?? 0) * 10;
const kept = (slice: number) =>
  slice >= fromSlice && (!steady || slices.get(slice)!.busy >= 0.7 * slices.get(slice)!.all);
const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  if (kept(sliceOf[i]!)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
if (steady) console.log('busy 100 ms slices only (PROFILE_ALL=1 for everything)');

const packageOf = (url: string): string => {
  if (url === '') return '(native/gc/idle)';
  // eslint-disable-next-line security/detect-unsafe-regex -- runs on profile URLs; the optional group starts with a literal @
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const ours = /\/(domain|application|infrastructure|projections|interfaces|bench)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]!.split('/')[0]}` : url;
};

const total = [...self.values()].reduce((a, b) => a + b, 0);
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
const packages = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of self) {
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  add(packages, packageOf(url), us);
  add(functions, `${functionName || '(anonymous)'} ${packageOf(url)}:${lineNumber + 1}`, us);
}
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
};
// Inclusive time per function (a function's own samples and everything it called), each stack counted once.
const inclusive = new Map<string, number>();
const keyOf = (node: Node) =>
  `${node.callFrame.functionName || '(anonymous)'} ${packageOf(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
const root = profile.nodes[0]!;
const walk = (node: Node, onStack: Set<string>): number => {
  let sum = self.get(node.id) ?? 0;
  const key = keyOf(node);
  const fresh = !onStack.has(key);
  if (fresh) onStack.add(key);
  for (const child of node.children ?? []) sum += walk(byId.get(child)!, onStack);
  if (fresh) {
    onStack.delete(key);
    add(inclusive, key, sum);
  }
  return sum;
};
walk(root, new Set());
const busy = total - (self.get(profile.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id ?? -1) ?? 0);
console.log(`${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
show('self time by package', packages);
show('self time by function', functions);
show('inclusive time by function', inclusive);
