// Seeded mutations for the fuzz harness (scripts/fuzz.mjs): a small PRNG, byte-level
// mutations of a valid file, text mutations, and structural mutations of JSON values.
// Everything is a pure function of the PRNG, so (seed, format, case) reproduces a case.

/** mulberry32 over a 32-bit state derived from the strings/numbers given. */
export function rng(...keys) {
  let h = 0x811c9dc5;
  for (const k of keys.map(String).join('\u0000')) h = Math.imul(h ^ k.charCodeAt(0), 0x01000193) >>> 0;
  let s = h || 1;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (a) => a[Math.floor(next() * a.length)],
    chance: (p) => next() < p,
  };
}

const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 1e6 >>> 0];
const F32_SPECIALS = [NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-45];

/** One random byte-level mutation of a copy of `buf` (flips, interesting ints, cuts, splices). */
export function mutateBytes(buf, r) {
  let b = Uint8Array.from(buf);
  const at = () => r.int(Math.max(1, b.length));
  switch (r.int(9)) {
    case 0: // flip 1..8 bits
      for (let k = 1 + r.int(8); k > 0 && b.length; k--) b[at()] ^= 1 << r.int(8);
      break;
    case 1: // random bytes
      for (let k = 1 + r.int(16); k > 0 && b.length; k--) b[at()] = r.int(256);
      break;
    case 2: { // an interesting little-endian u32
      if (b.length < 4) break;
      const o = r.int(b.length - 3);
      new DataView(b.buffer).setUint32(o, r.pick(INTERESTING_U32), r.chance(0.5));
      break;
    }
    case 3: // truncate
      b = b.subarray(0, r.int(b.length + 1));
      break;
    case 4: { // append garbage
      const extra = new Uint8Array(1 + r.int(64)).map(() => r.int(256));
      b = concat(b, extra);
      break;
    }
    case 5: { // delete a range
      const s = at(), e = Math.min(b.length, s + 1 + r.int(32));
      b = concat(b.subarray(0, s), b.subarray(e));
      break;
    }
    case 6: { // duplicate a range
      const s = at(), e = Math.min(b.length, s + 1 + r.int(64));
      b = concat(b.subarray(0, e), b.subarray(s, e), b.subarray(e));
      break;
    }
    case 7: { // a float32 special value at an aligned offset
      if (b.length < 4) break;
      const o = 4 * r.int(Math.floor(b.length / 4));
      new DataView(b.buffer).setFloat32(o, r.pick(F32_SPECIALS), true);
      break;
    }
    default: // zero a range
      b.fill(0, at(), at());
  }
  return b;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

const NASTY_TEXT = ['', ' ', ',', ',,', '"', '""', 'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '1e39', '-1e39', '1e309', '1e-400', '0x1F',
  '9007199254740993', '-0', '+', '.', 'e5', '1,5', '\t', '\u00a0', '💥', '\u0000', '\r', '\n', 'label', 'train', 'test', '3.4028236e38'];

/** One text mutation: a cell replaced by a nasty token, a character dropped/duplicated, a line doubled or cut. */
export function mutateText(text, r) {
  const lines = text.split('\n');
  const li = r.int(lines.length);
  switch (r.int(6)) {
    case 0: {
      const cells = lines[li].split(',');
      cells[r.int(cells.length)] = r.pick(NASTY_TEXT);
      lines[li] = cells.join(',');
      break;
    }
    case 1: {
      const s = lines[li];
      const i = r.int(s.length + 1);
      lines[li] = s.slice(0, i) + r.pick(NASTY_TEXT) + s.slice(i);
      break;
    }
    case 2:
      lines[li] = lines[li].slice(0, r.int(lines[li].length + 1));
      break;
    case 3:
      lines.splice(li, 0, lines[li]);
      break;
    case 4:
      lines[li] = lines[li] + ','.repeat(1 + r.int(3));
      break;
    default:
      lines[li] = Array.from({ length: 1 + r.int(5000) }, () => '1').join(',');
  }
  return lines.join('\n');
}

const NASTY_VALUES = [null, true, false, 0, -1, 1, 0.5, -0.5, 1e308, -1e308, 2 ** 31, 2 ** 32 + 1, 2 ** 53 + 2, 2 ** 63, 1e-320, '', 'x', '1', 'NaN', 'Infinity',
  [], [1], [-1, 2], {}, { a: 1 }, 'mnist-fgsm', 'patches', 'features:/dev/zero', '/dev/zero', '../../etc/passwd', Array(50).fill(7)];

/** Every [container, key] in a JSON value (depth-first). */
function slots(v, out = []) {
  if (v && typeof v === 'object')
    for (const k of Object.keys(v)) {
      out.push([v, Array.isArray(v) ? Number(k) : k]);
      slots(v[k], out);
    }
  return out;
}

/** One structural JSON mutation (a value replaced, deleted, an unknown key added, a number scaled), or a byte mutation of the text. */
export function mutateJson(value, r) {
  const v = structuredClone(value);
  if (r.chance(0.12)) return mutateBytes(new TextEncoder().encode(JSON.stringify(v)), r);
  const all = slots(v);
  const edits = 1 + r.int(3);
  for (let k = 0; k < edits && all.length; k++) {
    const [obj, key] = r.pick(all);
    switch (r.int(5)) {
      case 0:
      case 1:
        obj[key] = structuredClone(r.pick(NASTY_VALUES));
        break;
      case 2:
        if (Array.isArray(obj)) obj.splice(key, 1);
        else delete obj[key];
        break;
      case 3:
        if (typeof obj[key] === 'number') obj[key] = obj[key] * r.pick([-1, 0, 1e6, 1e300, 0.5, 1.0000001]);
        else obj[key] = structuredClone(r.pick(NASTY_VALUES));
        break;
      default:
        if (!Array.isArray(obj)) obj[r.pick(['extra', 'steps', 'seeds', '__proto__', 'constructor', 'beta'])] = structuredClone(r.pick(NASTY_VALUES));
    }
  }
  const text = JSON.stringify(r.chance(0.03) ? [v] : v);
  return new TextEncoder().encode(text ?? 'null');
}
