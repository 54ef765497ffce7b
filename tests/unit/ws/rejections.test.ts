import { expect } from 'chai';
import {
  DuplicateEventIdError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from '#application/shared/eventStore.js';
import { InvalidSecretName } from '#domain/secrets/errors.js';
import { closeCodeOf, STATUS_BY_KIND } from '#interfaces/http/shared/errors.js';
import { CloseCode } from '#interfaces/ws/messages.js';
import { Rejections, tokenRejection } from '#interfaces/ws/rejections.js';

describe('WebSocket close codes come from the one error map', () => {
  it('a refusal closes with 4000 + its HTTP status; internal and unavailable with the protocol codes', () => {
    expect(closeCodeOf('unauthorized')).to.equal(4000 + STATUS_BY_KIND.unauthorized);
    expect(closeCodeOf('forbidden')).to.equal(CloseCode.forbidden);
    expect(closeCodeOf('validation')).to.equal(CloseCode.badRequest);
    expect(closeCodeOf('rate_limited')).to.equal(CloseCode.tooManyConnections);
    expect(closeCodeOf('internal')).to.equal(CloseCode.internalError);
    expect(closeCodeOf('unavailable')).to.equal(CloseCode.tryAgainLater);
  });

  it('the documented rejections keep their codes, and any other domain refusal closes by its kind', () => {
    expect(Rejections.malformedMessage.closeCode).to.equal(4400);
    expect(Rejections.tooManyForUser.closeCode).to.equal(4429);
    expect(Rejections.internal.closeCode).to.equal(1011);
    expect(tokenRejection(new InvalidSecretName('Bad'))).to.deep.equal({
      closeCode: 4400,
      reason: 'invalid_secret_name',
      message: new InvalidSecretName('Bad').message,
    });
    expect(tokenRejection(new Error('boom'))).to.equal(null);
  });

  it('the event store refusals close by their kind too, never as internal errors', () => {
    const conflict = tokenRejection(new WrongExpectedRevisionError('wstoken-1', 0, 1));
    expect(conflict).to.include({ closeCode: CloseCode.conflict, reason: 'wrong_expected_revision' });
    expect(CloseCode.conflict).to.equal(4000 + STATUS_BY_KIND.conflict);
    expect(tokenRejection(new DuplicateEventIdError('5f0c2a52-5d1e-4f7a-9c3b-0a1b2c3d4e5f'))).to.include({
      closeCode: 4409,
      reason: 'duplicate_event_id',
    });
    expect(tokenRejection(new EventStoreUnavailableError('lock not granted'))).to.include({
      closeCode: CloseCode.tryAgainLater,
      reason: 'event_store_unavailable',
    });
  });
});
