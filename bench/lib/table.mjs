// The result table: figure | Postamt | peer | ratio. The ratio is Postamt /
// peer unless a scenario asks for peer / Postamt (`order: 'peer/postamt'`,
// for tables of times, where > 1 then reads "Postamt faster"); each figure
// says whether higher or lower is better.

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  return v.toFixed(digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2));
}

export function ratio(postamt, peer) {
  if (typeof postamt !== 'number' || typeof peer !== 'number' || peer === 0) return null;
  return postamt / peer;
}

/** The ratio of a row in the given order ('postamt/peer', the default, or 'peer/postamt'). */
export function orderedRatio(row, order = 'postamt/peer') {
  return order === 'peer/postamt' ? ratio(row.peer, row.postamt) : ratio(row.postamt, row.peer);
}

/** rows: [{ name, unit, better: 'higher'|'lower', postamt, peer, note }] */
export function renderTable(rows, peerName, { order = 'postamt/peer' } = {}) {
  const header = [
    'figure',
    'Postamt',
    peerName,
    order === 'peer/postamt' ? `${peerName}/Postamt` : 'Postamt/peer',
    'better',
    'note',
  ];
  const body = rows.map((r) => {
    const q = orderedRatio(r, order);
    return [
      r.unit ? `${r.name} (${r.unit})` : r.name,
      fmt(r.postamt),
      fmt(r.peer),
      q === null ? '–' : `${q.toFixed(2)}×`,
      r.better ?? '',
      r.note ?? '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const numeric = [false, true, true, true, false, false];
  const line = (cells) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
