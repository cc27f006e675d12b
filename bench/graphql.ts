// patchbay's GraphQL guard beside graphql-depth-limit + graphql-query-complexity and beside
// @escape.tech/graphql-armor's rules (max-tokens parser, max-depth, cost-limit, max-aliases,
// max-directives), on the same schema and documents, in the same run, alternating. Each timing is
// parse (with each side's token limit, where it has one) + validate with that side's rules only;
// a second table measures the guard's overhead on top of graphql-js's own specifiedRules.
// Every (side, document) pair is first tried in a worker with a time limit, because some peers
// are exponential or recurse without end on some attacks; those are reported, not timed.
// Run: npm run bench -- graphql
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { costLimitRule as armorCost } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { type DocumentNode, type GraphQLError, parse, specifiedRules, type ValidationRule, validate } from 'graphql';
import { createComplexityRule, directiveEstimator, simpleEstimator } from 'graphql-query-complexity';
import { createGraphQLGuard } from 'patchbay/graphql';
import { attacks, mediumQuery } from '../test/graphql/queries.ts';
import { testSchema } from '../test/graphql/schema.ts';

// graphql-depth-limit ships no types
const depthLimit = createRequire(import.meta.url)('graphql-depth-limit') as (max: number) => ValidationRule;

const { schema } = testSchema();
const guard = createGraphQLGuard();
// The peers get patchbay's default limits, so all three accept and reject the same things where they can.
const LIMITS = { depth: 15, cost: 10_000, aliases: 30, directives: 50, tokens: 2_000 };

type Variables = Record<string, unknown> | undefined;
type Side = (query: string, variables: Variables) => readonly GraphQLError[];

const sides: Record<string, Side> = {
  // patchbay's check() runs the limits first and specifiedRules only when they pass; time the
  // limits alone here, as for the peers: parse with the token limit + validate with guard.rules().
  patchbay: (query, variables) => validate(schema, parse(query, guard.parseOptions), guard.rules(variables)),
  armor: (query) => {
    const document = new MaxTokensParserWLexer(query, { n: LIMITS.tokens }).parseDocument() as DocumentNode;
    return validate(schema, document, [
      maxDepthRule({ n: LIMITS.depth, ignoreIntrospection: false }),
      armorCost({ maxCost: LIMITS.cost }),
      maxAliasesRule({ n: LIMITS.aliases }),
      maxDirectivesRule({ n: LIMITS.directives }),
    ]);
  },
  'depth-limit + query-complexity': (query, variables) =>
    validate(schema, parse(query), [
      depthLimit(LIMITS.depth),
      createComplexityRule({
        maximumComplexity: LIMITS.cost,
        variables: variables ?? {},
        estimators: [directiveEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      }),
    ]),
};
const cases = [{ name: 'medium query (legitimate)', query: mediumQuery, variables: { term: 'graphql' } }, ...attacks];

async function probe(side: string, index: number): Promise<string> {
  const PROBE_MS = 3_000;
  const worker = new Worker(new URL(import.meta.url), { workerData: { side, index }, stdout: true, stderr: true });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve(`gave up after ${PROBE_MS / 1000} s`);
    }, PROBE_MS);
    worker.once('message', (m: { outcome: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m.outcome);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      resolve(/stack size/.test(error.message) ? 'stack overflow' : 'threw');
    });
  });
}

/** µs per call: repeat for SLICE_MS, rounds rounds alternating the sides, median. */
function compare(run: Record<string, () => unknown>, rounds = 7): Record<string, number> {
  const SLICE_MS = 150;
  const samples: Record<string, number[]> = {};
  for (const fn of Object.values(run)) for (let i = 0; i < 20; i++) fn();
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(run)) {
      let count = 0;
      const start = performance.now();
      let now = start;
      while (now - start < SLICE_MS) {
        fn();
        count++;
        now = performance.now();
      }
      samples[name] ??= [];
      samples[name].push(((now - start) * 1000) / count);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([n, s]) => [n, s.sort((a, b) => a - b)[rounds >> 1]!]));
}

const fmt = (us: number) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const [index, c] of cases.entries()) {
    const outcomes: Record<string, string> = {};
    for (const side of Object.keys(sides)) outcomes[side] = await probe(side, index);
    const timed = Object.fromEntries(
      Object.keys(sides)
        .filter((side) => outcomes[side] === 'accepted' || outcomes[side] === 'rejected')
        .map((side) => [
          side,
          () => {
            try {
              sides[side]!(c.query, c.variables);
            } catch {
              // armor's and graphql's token limits throw; that is the rejection being timed
            }
          },
        ]),
    );
    const us = compare(timed);
    const cell = (side: string) => {
      const outcome = outcomes[side]!;
      if (us[side] === undefined) return `— (${outcome})`;
      // Fragment cycles are graphql-js's NoFragmentCyclesRule's to reject; guard rules must only survive them.
      const cycle = 'checkCode' in c && c.checkCode === 'GRAPHQL_VALIDATION_FAILED';
      const expected = !('checkCode' in c) ? 'accepted' : 'rejected';
      const mark = cycle || outcome === expected ? '' : ` ✗ ${outcome}`;
      return `${fmt(us[side])}${mark}`;
    };
    const ratio = (peer: string) =>
      us.patchbay !== undefined && us[peer] !== undefined ? `${(us.patchbay / us[peer]).toFixed(2)}×` : '—';
    rows.push(
      `| ${c.name} | ${cell('patchbay')} | ${cell('armor')} | ${ratio('armor')} | ${cell('depth-limit + query-complexity')} | ${ratio('depth-limit + query-complexity')} |`,
    );
  }

  // Overhead on top of graphql-js's own validation, on the medium query.
  const document = parse(mediumQuery);
  const variables = { term: 'graphql' };
  const overhead = compare(
    {
      specifiedRules: () => validate(schema, document, specifiedRules),
      'specifiedRules + guard.rules()': () =>
        validate(schema, document, [...specifiedRules, ...guard.rules(variables)]),
    },
    21,
  );
  const base = overhead.specifiedRules!;
  const withGuard = overhead['specifiedRules + guard.rules()']!;

  const cpu = cpus();
  console.log(`### graphql — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpu[0]?.model.trim()}, ${cpu.length} cores; Node ${process.version}

Parse + validate with each side's guard rules only, µs per document (median of 7 alternating rounds).
Ratios are patchbay / peer, lower is better. ✗ marks a wrong outcome (an attack accepted, or the
legitimate query rejected); fragment cycles are graphql-js's own NoFragmentCyclesRule's to reject, so
there a side only has to finish. "—": not timed, because the side's one probe run (in a
worker, 3 s limit) did not finish or crashed.

| document | patchbay | armor | patchbay / armor | depth-limit + query-complexity | patchbay / dl+qc |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Overhead on top of specifiedRules, medium query, µs per validate() (median of 21 alternating rounds)

| rules | µs | ratio |
| --- | ---: | ---: |
| specifiedRules | ${fmt(base)} | 1.00× |
| specifiedRules + guard.rules() | ${fmt(withGuard)} | ${(withGuard / base).toFixed(2)}× (${withGuard >= base ? '+' : ''}${(((withGuard - base) / base) * 100).toFixed(1)}%) |
`);
}

if (!isMainThread) {
  // Probe: one run of one side on one case; the parent gives up on us after PROBE_MS.
  const { side, index } = workerData as { side: string; index: number };
  const c = cases[index]!;
  try {
    const errors = sides[side]!(c.query, c.variables);
    parentPort?.postMessage({ outcome: errors.length > 0 ? 'rejected' : 'accepted' });
  } catch (error) {
    // armor throws its GraphQLError out of validate(), graphql's parser throws past maxTokens: both reject
    const name = error instanceof Error ? error.name : '';
    const message = error instanceof Error ? error.message : String(error);
    parentPort?.postMessage({
      outcome: /stack size/.test(message) ? 'stack overflow' : name === 'GraphQLError' ? 'rejected' : 'threw',
    });
  }
} else {
  await main();
}
