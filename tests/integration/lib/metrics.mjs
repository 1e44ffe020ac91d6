// A strict-enough parser of the Prometheus text exposition format (0.0.4)
// for the tests of GET /metrics: it throws on a line that is neither a
// comment nor a well-formed sample, so a malformed exposition fails loudly.

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseLabels(s, line) {
	const labels = {};
	LABEL.lastIndex = 0;
	while (LABEL.lastIndex < s.length) {
		const start = LABEL.lastIndex;
		const m = LABEL.exec(s);
		if (!m || m.index !== start) throw new Error(`bad label set in metrics line: ${line}`);
		labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
		if (m[3] === '') break;
	}
	return labels;
}

function parseValue(v, line) {
	if (v === '+Inf') return Infinity;
	if (v === '-Inf') return -Infinity;
	if (v === 'NaN') return NaN;
	const n = Number(v);
	if (!Number.isFinite(n) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) {
		throw new Error(`bad sample value in metrics line: ${line}`);
	}
	return n;
}

/**
 * Parse an exposition: { samples: [{ name, labels, value }], types: {name: type},
 * help: {name: text} }. Throws on malformed lines, on a sample whose family has
 * no # TYPE before it, and on a family whose # TYPE appears twice.
 */
export function parseMetrics(text) {
	const samples = [];
	const types = {};
	const help = {};
	if (text.length && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
	for (const line of text.split('\n')) {
		if (line === '') continue;
		if (line.startsWith('#')) {
			const m = line.match(/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/);
			if (!m) continue;		// a plain comment
			if (m[1] === 'TYPE') {
				if (types[m[2]]) throw new Error(`# TYPE ${m[2]} given twice`);
				if (!/^(counter|gauge|histogram|summary|untyped)$/.test(m[3])) throw new Error(`bad type: ${line}`);
				types[m[2]] = m[3];
			} else {
				help[m[2]] = m[3];
			}
			continue;
		}
		const m = line.match(SAMPLE);
		if (!m) throw new Error(`malformed metrics line: ${JSON.stringify(line)}`);
		const name = m[1];
		const family = types[name] ? name : name.replace(/_(bucket|sum|count|total)$/, '');
		if (!types[name] && !types[family] && !types[`${family}_total`]) {
			throw new Error(`sample ${name} has no # TYPE line before it`);
		}
		samples.push({ name, labels: m[3] ? parseLabels(m[3], line) : {}, value: parseValue(m[4], line) });
	}
	return new Metrics(samples, types, help);
}

export class Metrics {
	constructor(samples, types, help) {
		this.samples = samples;
		this.types = types;
		this.help = help;
	}

	/** Samples named `name` whose labels include every pair in `labels`. */
	all(name, labels = {}) {
		return this.samples.filter((s) => s.name === name
			&& Object.entries(labels).every(([k, v]) => s.labels[k] === String(v)));
	}

	/** The value of the one matching sample; `dflt` (default undefined) if none; throws if several. */
	get(name, labels = {}, dflt = undefined) {
		const a = this.all(name, labels);
		if (a.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${a.length} samples`);
		return a.length ? a[0].value : dflt;
	}

	/** Histogram buckets of `name` as [{ le, value }] sorted by le. */
	buckets(name) {
		return this.all(`${name}_bucket`).map((s) => ({
			le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), value: s.value,
		})).sort((a, b) => a.le - b.le);
	}
}
