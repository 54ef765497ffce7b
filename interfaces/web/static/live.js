// The live metrics socket (docs/websocket.md): a fresh single-use ws token for every connection, sent
// as the first message (never in the URL), and reconnection with exponential backoff and jitter.
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
const decoder = new TextDecoder();

/**
 * createLive({ getToken, onStatus, onSnapshot, onEvent })
 * onStatus({ state: 'connecting' | 'live' | 'reconnecting' | 'stopped', code?, reason?, retryInMs? })
 * getToken() rejecting with status 401 ends the loop: the session is over and the app shows the login.
 */
export const createLive = ({ getToken, onStatus, onSnapshot, onEvent, url = defaultUrl() }) => {
  let socket = null;
  let stopped = true;
  let attempt = 0;
  let timer = null;

  const schedule = (code, reason) => {
    if (stopped) return;
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
    // Full jitter between half and all of the ceiling, so tabs that lost the server together do not return together.
    const retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    attempt += 1;
    onStatus({ state: 'reconnecting', code, reason, retryInMs });
    timer = setTimeout(connect, retryInMs);
  };

  const connect = async () => {
    timer = null;
    if (stopped) return;
    onStatus({ state: 'connecting' });
    let token;
    try {
      token = await getToken();
    } catch (error) {
      if (error?.status === 401 || error?.status === 403) {
        stop();
        return;
      }
      schedule(0, error?.code ?? 'network');
      return;
    }
    if (stopped) return;
    const ws = new WebSocket(url);
    // The protocol is JSON text, but a frame that arrives binary (some server paths send Buffers) is read the same way.
    ws.binaryType = 'arraybuffer';
    socket = ws;
    let serverReason = null;
    ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.addEventListener('message', (message) => {
      let parsed;
      try {
        parsed = JSON.parse(typeof message.data === 'string' ? message.data : decoder.decode(message.data));
      } catch {
        return;
      }
      switch (parsed.type) {
        case 'auth_ok':
          attempt = 0;
          onStatus({ state: 'live' });
          return;
        case 'snapshot':
          onSnapshot(parsed.data);
          return;
        case 'event':
          onEvent(parsed.data);
          return;
        case 'error':
          serverReason = parsed.code;
          return;
        case 'closing':
          serverReason = parsed.reason;
          return;
        default:
          return;
      }
    });
    ws.addEventListener('close', (event) => {
      if (socket === ws) socket = null;
      if (stopped) return;
      schedule(event.code, event.reason || serverReason || 'connection_lost');
    });
  };

  const start = () => {
    if (!stopped) return;
    stopped = false;
    attempt = 0;
    void connect();
  };

  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    timer = null;
    const ws = socket;
    // Closing a socket still connecting makes the browser log an error; let it open, then close it.
    if (ws?.readyState === WebSocket.CONNECTING) ws.addEventListener('open', () => ws.close(1000, 'logout'));
    else if (ws?.readyState === WebSocket.OPEN) ws.close(1000, 'logout');
    socket = null;
    onStatus({ state: 'stopped' });
  };

  return { start, stop };
};

function defaultUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/metrics`;
}
