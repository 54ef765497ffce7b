import type { Decider } from '#domain/shared/event.js';
import { InvalidNumberId, NumberAlreadyExists, NumberNotFound, UnknownMessagingCommand } from './errors.js';
import type { Command, NumberAdded, NumberDisabled, NumberEnabled, NumberEvent, NumberRemoved } from './events.js';

/** Number (instance) aggregate, stream `number-<numberId>`. */
export type NumberState =
  | Readonly<{ status: 'none' }>
  | Readonly<{ status: 'active' | 'disabled' } & Omit<NumberAdded['data'], 'by'>>
  | Readonly<{ status: 'removed'; numberId: string }>;

export type AddNumber = Command<
  'AddNumber',
  NumberAdded['data'] & {
    /** startup defaults: an existing number is left as it is instead of refused */
    ifAbsent: boolean;
  }
>;
export type DisableNumber = Command<'DisableNumber', NumberDisabled['data']>;
export type EnableNumber = Command<'EnableNumber', NumberEnabled['data']>;
export type RemoveNumber = Command<'RemoveNumber', NumberRemoved['data']>;
export type NumberCommand = AddNumber | DisableNumber | EnableNumber | RemoveNumber;

export const NUMBER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const isValidNumberId = (value: unknown): value is string => typeof value === 'string' && NUMBER_ID.test(value);

export const initialState = (): NumberState => ({ status: 'none' });

const add = ({ data: c }: AddNumber, state: NumberState): NumberEvent[] => {
  if (!isValidNumberId(c.numberId)) throw new InvalidNumberId();
  if (state.status === 'active' || state.status === 'disabled') {
    if (c.ifAbsent) return [];
    throw new NumberAlreadyExists(c.numberId);
  }
  const { numberId, name, kind, credentialsSecret, phoneNumberId, by } = c;
  return [{ type: 'NumberAdded', data: { numberId, name, kind, credentialsSecret, phoneNumberId, by } }];
};

export const decide = (command: NumberCommand, state: NumberState): NumberEvent[] => {
  switch (command.type) {
    case 'AddNumber':
      return add(command, state);
    case 'DisableNumber':
      if (state.status !== 'active' && state.status !== 'disabled') throw new NumberNotFound(command.data.numberId);
      return state.status === 'disabled' ? [] : [{ type: 'NumberDisabled', data: { ...command.data } }];
    case 'EnableNumber':
      if (state.status !== 'active' && state.status !== 'disabled') throw new NumberNotFound(command.data.numberId);
      return state.status === 'active' ? [] : [{ type: 'NumberEnabled', data: { ...command.data } }];
    case 'RemoveNumber':
      if (state.status !== 'active' && state.status !== 'disabled') throw new NumberNotFound(command.data.numberId);
      return [{ type: 'NumberRemoved', data: { ...command.data } }];
    default: {
      const _exhaustive: never = command;
      throw new UnknownMessagingCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: NumberState, event: NumberEvent): NumberState => {
  switch (event.type) {
    case 'NumberAdded': {
      const { numberId, name, kind, credentialsSecret, phoneNumberId } = event.data;
      return { status: 'active', numberId, name, kind, credentialsSecret, phoneNumberId };
    }
    case 'NumberDisabled':
      return state.status === 'active' ? { ...state, status: 'disabled' } : state;
    case 'NumberEnabled':
      return state.status === 'disabled' ? { ...state, status: 'active' } : state;
    case 'NumberRemoved':
      return state.status === 'none' ? state : { status: 'removed', numberId: state.numberId };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const numberDecider: Decider<NumberState, NumberCommand, NumberEvent> = { decide, evolve, initialState };
