// qrcode is loaded when a QR is first drawn (a pairing), not when the process starts.
const qrcode = async () => (await import('qrcode')).default;

/** The pairing QR as an SVG document (the console shows it as an image; no script, no style). */
export const qrSvg = async (qr: string): Promise<string> =>
  (await qrcode()).toString(qr, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 });

/** The pairing QR for a terminal (worker-web prints it so a server console can pair too). */
export const qrTerminal = async (qr: string): Promise<string> =>
  (await qrcode()).toString(qr, { type: 'terminal', small: true });
