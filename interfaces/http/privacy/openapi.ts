import { adminOnly, bearer, errorResponse, pathParameter } from '../shared/openapiParts.js';
import { jsonRequestBody } from '../shared/openapiSchema.js';
import { ForgetBody } from './privacyRoutes.js';

/** OpenAPI paths of the privacy API (spread into interfaces/http/openapi.ts). */
export const privacyPaths = {
  '/api/contacts/{number}/forget': {
    post: {
      summary:
        "Forget a contact (admin, audited): destroys its data keys, so its phone number, name and messages read as '[erased]' everywhere",
      security: bearer,
      parameters: [
        pathParameter('number', {
          schema: { type: 'string', maxLength: 64 },
          description: 'the contact: E.164 digits (a leading + and spaces are accepted) or a WhatsApp JID',
        }),
      ],
      requestBody: jsonRequestBody(ForgetBody),
      responses: {
        200: {
          description: '{forgotten: [{chatId, numberId, keysDestroyed}]}: one entry per number it was forgotten on',
        },
        400: errorResponse('Not a phone number or JID, or a bad body'),
        404: errorResponse('Unknown number (numberId)'),
        ...adminOnly,
      },
    },
  },
};
