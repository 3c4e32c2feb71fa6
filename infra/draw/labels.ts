/**
 * Placing node names on a map without overlaps: each label tries positions around its marker,
 * nearest first, and takes the first that hits no other label, marker or the frame; a label
 * pushed away from its marker gets a leader line. Greedy and deterministic.
 */

export interface Marker {
  id: string;
  x: number;
  y: number;
  /** Radius the label keeps clear of. */
  r: number;
  /** Label width and height in px. */
  w: number;
  h: number;
  /** Kept clear of other labels but not labelled here (it is labelled elsewhere, in a close-up). */
  unlabelled?: boolean;
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface PlacedLabel {
  id: string;
  /** Text anchor point (SVG baseline). */
  x: number;
  y: number;
  anchor: "start" | "middle" | "end";
  box: Box;
  /** From the marker's edge to the label, when the label sits away from its marker. */
  leader?: { x1: number; y1: number; x2: number; y2: number };
}

const DIRECTIONS: readonly [number, number][] = [
  [1, 0], [-1, 0], [0.71, -0.71], [-0.71, -0.71], [0.71, 0.71], [-0.71, 0.71], [0, -1], [0, 1],
];
const GAPS = [3, 14, 28, 44, 62, 84];

/** One label per marker not `unlabelled`, in the markers' order; `avoid`: areas no label may cover. */
export function placeLabels(markers: readonly Marker[], frame: Box, avoid: readonly Box[] = []): PlacedLabel[] {
  const crowd = (m: Marker): number => markers.filter((o) => o !== m && Math.hypot(o.x - m.x, o.y - m.y) < 80).length;
  const order = markers.filter((m) => !m.unlabelled).sort((a, b) => crowd(b) - crowd(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const placed: PlacedLabel[] = [];
  const obstacles = markers
    .map((m) => ({ id: m.id, box: { x0: m.x - m.r, y0: m.y - m.r, x1: m.x + m.r, y1: m.y + m.r } }))
    .concat(avoid.map((box) => ({ id: "", box })));

  for (const m of order) {
    let best: { label: PlacedLabel; cost: number } | undefined;
    for (const gap of GAPS) {
      for (const [dx, dy] of DIRECTIONS) {
        const label = candidate(m, dx, dy, m.r + gap);
        const cost = overlapCost(label.box, m.id, placed, obstacles, frame) + gap * 0.01;
        if (!best || cost < best.cost) best = { label, cost };
      }
      if (best && best.cost < 1) break;
    }
    const chosen = (best as { label: PlacedLabel }).label;
    if (Math.hypot(centre(chosen.box).x - m.x, centre(chosen.box).y - m.y) > m.r + Math.max(m.w, m.h) / 2 + 8) {
      const end = nearestPoint(chosen.box, m.x, m.y);
      const d = Math.hypot(end.x - m.x, end.y - m.y);
      chosen.leader = { x1: m.x + ((end.x - m.x) / d) * m.r, y1: m.y + ((end.y - m.y) / d) * m.r, x2: end.x, y2: end.y };
    }
    placed.push(chosen);
  }
  return markers.filter((m) => !m.unlabelled).map((m) => placed.find((p) => p.id === m.id) as PlacedLabel);
}

function candidate(m: Marker, dx: number, dy: number, dist: number): PlacedLabel {
  const px = m.x + dx * dist;
  const py = m.y + dy * dist;
  const x0 = dx > 0.3 ? px : dx < -0.3 ? px - m.w : px - m.w / 2;
  const y0 = dy > 0.3 ? py : dy < -0.3 ? py - m.h : py - m.h / 2;
  const box = { x0, y0, x1: x0 + m.w, y1: y0 + m.h };
  const anchor = dx > 0.3 ? "start" : dx < -0.3 ? "end" : "middle";
  const x = anchor === "start" ? box.x0 : anchor === "end" ? box.x1 : (box.x0 + box.x1) / 2;
  // The baseline sits about a quarter of the height above the box's bottom.
  return { id: m.id, x, y: box.y1 - m.h * 0.24, anchor, box };
}

function overlapCost(box: Box, self: string, placed: readonly PlacedLabel[], markers: readonly { id: string; box: Box }[], frame: Box): number {
  let cost = 0;
  for (const p of placed) cost += area(intersect(box, pad(p.box, 2)));
  for (const m of markers) if (m.id !== self) cost += area(intersect(box, pad(m.box, 2))) * 2;
  const inside = area(intersect(box, frame));
  cost += (area(box) - inside) * 4;
  return cost;
}

function pad(b: Box, by: number): Box {
  return { x0: b.x0 - by, y0: b.y0 - by, x1: b.x1 + by, y1: b.y1 + by };
}

function intersect(a: Box, b: Box): Box {
  return { x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) };
}

function area(b: Box): number {
  return Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
}

function centre(b: Box): { x: number; y: number } {
  return { x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2 };
}

function nearestPoint(b: Box, x: number, y: number): { x: number; y: number } {
  return { x: Math.min(Math.max(x, b.x0), b.x1), y: Math.min(Math.max(y, b.y0), b.y1) };
}
