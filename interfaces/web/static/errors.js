// One place that turns an ApiError into a sentence for people, in the current language.
import { formatDuration, formatTime, has, t } from './i18n.js';

export const describeError = (error) => {
  const code = error?.code ?? 'network';
  if (code === 'account_locked' || code === 'rate_limited') {
    const seconds = error.retryAfterSeconds ?? 60;
    return t(`error.${code}`, {
      wait: formatDuration(seconds),
      at: formatTime(new Date(Date.now() + seconds * 1000).toISOString()),
    });
  }
  if (error?.status === 503) return t('error.unavailable');
  if (error?.status === 403) return t('error.forbidden');
  if (has(`error.${code}`)) return t(`error.${code}`);
  return t('error.generic', { code, message: error?.message ?? '' });
};
