import QRCode from 'qrcode';

/** The pairing QR as an SVG document (the console shows it as an image; no script, no style). */
export const qrSvg = (qr: string): Promise<string> =>
  QRCode.toString(qr, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 });

/** The pairing QR for a terminal (worker-web prints it so a server console can pair too). */
export const qrTerminal = (qr: string): Promise<string> => QRCode.toString(qr, { type: 'terminal', small: true });
