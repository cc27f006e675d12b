// Fails when an exported function, class, interface, type alias or variable has no `@example`
// in its TSDoc. Reads the JSON model typedoc writes beside the HTML (`npm run docs`).
import { readFileSync } from 'node:fs';

interface Comment {
  blockTags?: { tag: string }[];
}
interface Reflection {
  name: string;
  kind: number;
  comment?: Comment;
  signatures?: { comment?: Comment }[];
  children?: Reflection[];
}

// typedoc ReflectionKind values
const MODULE = 2;
const CHECKED = new Map([
  [64, 'function'],
  [128, 'class'],
  [256, 'interface'],
  [2097152, 'type alias'],
  [32, 'variable'],
]);

const hasExample = (comment: Comment | undefined): boolean =>
  comment?.blockTags?.some((tag) => tag.tag === '@example') ?? false;

const project = JSON.parse(readFileSync('docs/api/api.json', 'utf8')) as Reflection;
const missing: string[] = [];
for (const module of project.children ?? []) {
  if (module.kind !== MODULE) continue;
  for (const item of module.children ?? []) {
    const kind = CHECKED.get(item.kind);
    if (!kind) continue;
    const documented = hasExample(item.comment) || (item.signatures ?? []).some((s) => hasExample(s.comment));
    if (!documented) missing.push(`${module.name}: ${kind} ${item.name}`);
  }
}
if (missing.length > 0) {
  process.stderr.write(`exports without an @example in their TSDoc:\n  ${missing.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write('every export has an @example\n');
