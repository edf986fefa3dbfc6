/**
 * Just enough of a PromQL lexer to say which series a query names, which range selectors it
 * uses and which functions it calls. Label matchers and strings are skipped whole, so a label
 * value or a Grafana variable inside one is never taken for a metric.
 */

/** Aggregation operators: they may be followed by `by (...)` before their parenthesis. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);

const OTHER_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

export interface PromqlParts {
  /** Series names the query selects (recorded rule names included), in order, deduplicated. */
  metrics: string[];
  /** The text inside every `[...]`, e.g. `5m` or `$__rate_interval`. */
  ranges: string[];
  /** Functions and aggregations called, in order. */
  functions: string[];
  /** Every vector selector: the series name and the text of its matchers ('' without braces). */
  selectors: { metric: string; matchers: string }[];
}

const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;

// Long: one scanner over the expression, a case per token kind, sharing its position.
export function parsePromql(expr: string): PromqlParts {
  const metrics: string[] = [];
  const ranges: string[] = [];
  const functions: string[] = [];
  const selectors: PromqlParts['selectors'] = [];
  let i = 0;
  const n = expr.length;

  const skipString = (quote: string): void => {
    i++;
    while (i < n && expr[i] !== quote) i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
    if (i >= n) throw new Error(`unterminated string in: ${expr}`);
    i++;
  };
  /** From an opening bracket to just past its closing one, strings skipped whole. */
  const skipBalanced = (open: string, close: string): string => {
    const start = i;
    let depth = 0;
    while (i < n) {
      const c = expr[i] as string;
      if (c === '"' || c === "'" || c === '`') {
        skipString(c);
        continue;
      }
      if (c === open) depth++;
      if (c === close && --depth === 0) {
        i++;
        return expr.slice(start + 1, i - 1);
      }
      i++;
    }
    throw new Error(`unbalanced ${open}${close} in: ${expr}`);
  };
  const nextNonSpace = (from: number): number => {
    let j = from;
    while (j < n && /\s/.test(expr[j] as string)) j++;
    return j;
  };

  while (i < n) {
    const c = expr[i] as string;
    if (c === '"' || c === "'" || c === '`') skipString(c);
    else if (c === '{') skipBalanced('{', '}');
    else if (c === '[') ranges.push(skipBalanced('[', ']').trim());
    else if (c === '$') {
      // a Grafana variable outside a matcher: $name, ${name} or ${name:format}
      i++;
      if (expr[i] === '{') skipBalanced('{', '}');
      else while (i < n && IDENT_PART.test(expr[i] as string)) i++;
    } else if (c === '#') {
      while (i < n && expr[i] !== '\n') i++;
    } else if (/[0-9.]/.test(c)) {
      // numbers and durations (5m, 1e3, 0.1)
      while (i < n && /[0-9A-Za-z_.+-]/.test(expr[i] as string)) {
        const d = expr[i] as string;
        if ((d === '+' || d === '-') && !/[eE]/.test(expr[i - 1] as string)) break;
        i++;
      }
    } else if (IDENT_START.test(c)) {
      const start = i;
      while (i < n && IDENT_PART.test(expr[i] as string)) i++;
      const word = expr.slice(start, i);
      const after = nextNonSpace(i);
      if (LABEL_LIST_KEYWORDS.has(word)) {
        if (expr[after] === '(') {
          i = after;
          skipBalanced('(', ')');
        }
      } else if (AGGREGATIONS.has(word) || expr[after] === '(') {
        functions.push(word);
      } else if (!OTHER_KEYWORDS.has(word.toLowerCase())) {
        if (!metrics.includes(word)) metrics.push(word);
        let matchers = '';
        if (expr[after] === '{') {
          i = after;
          matchers = skipBalanced('{', '}').trim();
        }
        selectors.push({ metric: word, matchers });
      }
    } else i++;
  }
  return { metrics, ranges, functions, selectors };
}

/** Functions whose argument is a range vector (the ones a window must be chosen for). */
export const RANGE_FUNCTIONS = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'changes',
  'resets',
  'predict_linear',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
  'absent_over_time',
]);
