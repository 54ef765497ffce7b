// A small time-series line chart drawn on <canvas> (no chart library). Colours come from CSS custom
// properties (--series-N, --chart-grid, --chart-text), so the stylesheet owns the look, dark mode included.
import { formatNumber, t } from './i18n.js';

/**
 * Axis ticks: a round step (1, 2 or 5 x 10^n; at least 1 for counts) and the multiples of it up to the
 * first one at or above max, so labels never repeat after rounding.
 */
export const axisTicks = (max, integers) => {
  const top = max > 0 ? max : 1;
  const target = (integers ? Math.max(top, 1) : top) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  let step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= target) ?? 10 * magnitude;
  if (integers) step = Math.max(1, Math.round(step));
  const count = Math.max(1, Math.ceil(top / step - 1e-9));
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
};

export const SERIES_COLOURS = 6;

export class LineChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{ capacity?: number, digits?: number }} options capacity: points kept (one per snapshot, 1 s)
   */
  constructor(canvas, { capacity = 120, digits = 1 } = {}) {
    this.canvas = canvas;
    this.capacity = capacity;
    this.digits = digits;
    /** key -> { colour: number, values: Array<number | null> } */
    this.series = new Map();
    this.samples = 0;
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(canvas);
  }

  /** Adds a series the first time its key is seen; earlier samples count as missing for it. */
  ensure(key) {
    if (!this.series.has(key))
      this.series.set(key, { colour: this.series.size % SERIES_COLOURS, values: new Array(this.samples).fill(null) });
    return this.series.get(key);
  }

  colourOf(key) {
    return this.ensure(key).colour;
  }

  clear() {
    this.series.clear();
    this.samples = 0;
    this.draw();
  }

  /** One sample for every series: values[key] (a missing key is a gap). */
  push(values) {
    for (const key of Object.keys(values)) this.ensure(key);
    this.samples = Math.min(this.samples + 1, this.capacity);
    for (const [key, series] of this.series) {
      const value = values[key];
      series.values.push(typeof value === 'number' && Number.isFinite(value) ? value : null);
      if (series.values.length > this.capacity) series.values.shift();
    }
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    // hidden (another page is shown): drawn again by the ResizeObserver when it comes back
    if (width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const css = getComputedStyle(canvas);
    const colour = (name) => css.getPropertyValue(name).trim() || '#888';
    const font = `12px ${css.fontFamily}`;
    ctx.font = font;

    if (this.samples === 0) {
      ctx.fillStyle = colour('--chart-text');
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(t('chart.waiting'), width / 2, height / 2);
      return;
    }

    let max = 0;
    for (const series of this.series.values())
      for (const value of series.values) if (value !== null && value > max) max = value;
    const labels = axisTicks(max, this.digits === 0);
    const top = labels[labels.length - 1];
    const labelWidth = Math.max(...labels.map((value) => ctx.measureText(formatNumber(value, this.digits)).width));
    const plot = { left: Math.ceil(labelWidth) + 12, right: width - 10, top: 10, bottom: height - 24 };
    const plotHeight = plot.bottom - plot.top;
    const y = (value) => plot.bottom - (value / top) * plotHeight;
    const x = (index, count) =>
      plot.left + ((this.capacity - count + index) / (this.capacity - 1)) * (plot.right - plot.left);

    // grid and axis labels
    ctx.strokeStyle = colour('--chart-grid');
    ctx.fillStyle = colour('--chart-text');
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const value of labels) {
      const lineY = Math.round(y(value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(plot.left, lineY);
      ctx.lineTo(plot.right, lineY);
      ctx.stroke();
      ctx.fillText(formatNumber(value, this.digits), plot.left - 6, lineY);
    }
    ctx.textBaseline = 'alphabetic';
    ctx.textAlign = 'left';
    ctx.fillText(t('chart.ago'), plot.left, height - 6);
    ctx.textAlign = 'right';
    ctx.fillText(t('chart.now'), plot.right, height - 6);

    // one line per series, with a faint fill under it; gaps (null) break the line
    for (const series of this.series.values()) {
      const stroke = colour(`--series-${series.colour}`);
      const count = series.values.length;
      ctx.strokeStyle = stroke;
      ctx.fillStyle = stroke;
      ctx.lineWidth = 2;
      ctx.lineJoin = 'round';
      let run = [];
      const flush = () => {
        if (run.length === 0) return;
        ctx.beginPath();
        run.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
        ctx.stroke();
        if (run.length > 1) {
          ctx.lineTo(run[run.length - 1][0], plot.bottom);
          ctx.lineTo(run[0][0], plot.bottom);
          ctx.closePath();
          ctx.globalAlpha = 0.08;
          ctx.fill();
          ctx.globalAlpha = 1;
        }
        if (run.length === 1) {
          ctx.beginPath();
          ctx.arc(run[0][0], run[0][1], 2.5, 0, Math.PI * 2);
          ctx.fill();
        }
        run = [];
      };
      series.values.forEach((value, index) => {
        if (value === null) flush();
        else run.push([x(index, count), y(value)]);
      });
      flush();
    }
  }
}
