import { Router } from 'express';
import { z } from 'zod';
import { administerAccount, createAccount, type AccountDeps } from '#application/identity/accounts.js';
import type { SessionDeps } from '#application/identity/sessions.js';
import { ROLES } from '#domain/identity/events.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from './authenticate.js';

const Role = z.enum(ROLES as [string, ...string[]]).transform((r) => r as (typeof ROLES)[number]);
const CreateBody = z
  .object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024), role: Role })
  .strict();
const ResetBody = z.object({ password: z.string().min(1).max(1024) }).strict();
const RoleBody = z.object({ role: Role }).strict();
const AccountId = z.uuid();

export type UsersRoutesOptions = {
  identity: SessionDeps & AccountDeps;
  /** read side: the accounts read model */
  listAccounts: () => Promise<unknown[]>;
};

/** /api/users: admins create, list, disable, enable, unlock and reset users. Every change is an event. */
export const usersRoutes = ({ identity, listAccounts }: UsersRoutesOptions): Router => {
  const router = Router();
  const admin = requireAuth(identity, 'admin');

  router.get('/api/users', admin, async (_req, res) => {
    res.json({ users: await listAccounts() });
  });

  router.post('/api/users', admin, async (req, res) => {
    const body = parseInput(CreateBody, req.body);
    const created = await createAccount(identity, body, commandContext(req, authOf(req).accountId));
    res.status(201).json({ id: created.accountId, username: created.username, role: created.role });
  });

  const action = (name: 'disable' | 'enable' | 'unlock') =>
    router.post(`/api/users/:id/${name}`, admin, async (req, res) => {
      const id = parseInput(AccountId, req.params.id, 'account id');
      const result = await administerAccount(identity, id, { type: name }, commandContext(req, authOf(req).accountId));
      res.json({ id, changed: result.changed });
    });
  action('disable');
  action('enable');
  action('unlock');

  router.post('/api/users/:id/reset-password', admin, async (req, res) => {
    const id = parseInput(AccountId, req.params.id, 'account id');
    const body = parseInput(ResetBody, req.body);
    const result = await administerAccount(
      identity,
      id,
      { type: 'reset-password', password: body.password },
      commandContext(req, authOf(req).accountId),
    );
    res.json({ id, changed: result.changed });
  });

  router.patch('/api/users/:id', admin, async (req, res) => {
    const id = parseInput(AccountId, req.params.id, 'account id');
    const body = parseInput(RoleBody, req.body);
    const result = await administerAccount(
      identity,
      id,
      { type: 'change-role', role: body.role },
      commandContext(req, authOf(req).accountId),
    );
    res.json({ id, changed: result.changed });
  });

  return router;
};
