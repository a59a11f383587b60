// The second OpenID Connect provider of the login tests ("GRADLCI"), on loopback.
// oidc-provider with: users whose passwords are kept only as scrypt hashes, groups
// released with the `groups` scope, PKCE required of every client, an RS256 key
// made at start, and a login form of its own (oidc-provider's dev login accepts
// any password, so it is switched off).
// Reads a JSON spec from the file named by OIDC_TEST_SPEC: {port, users, client, token_seconds}.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const spec = JSON.parse(readFileSync(process.env.OIDC_TEST_SPEC, 'utf8'));
const host = spec.host || "127.0.0.1";
const issuer = `http://${host}:${spec.port}`;

const users = new Map(spec.users.map((u) => {
  const salt = randomBytes(16);
  return [u.username, { ...u, password: undefined, salt, hash: scryptSync(u.password, salt, 32) }];
}));

function checkPassword(username, password) {
  const user = users.get(username);
  if (!user) return null;
  const hash = scryptSync(String(password), user.salt, 32);
  return timingSafeEqual(hash, user.hash) ? user : null;
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'test-rs256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: spec.client.client_id,
    client_secret: spec.client.client_secret,
    redirect_uris: spec.client.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
  ttl: {
    AccessToken: spec.token_seconds || 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 86400,
    Grant: 86400,
    Interaction: 600,
    Session: 86400,
  },
  // The hub asks for no offline_access; it still needs to renew tokens.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  findAccount: async (_ctx, id) => {
    const user = users.get(id);
    if (!user) return undefined;
    return {
      accountId: id,
      claims: async () => ({
        sub: id, preferred_username: id, name: user.name || id, email: user.email || '', groups: user.groups || [],
      }),
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('hex')] },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, error) {
  return `<!doctype html><html><head><title>GRADLCI test provider: sign in</title></head><body>
<h1>GRADLCI test provider</h1>
${error ? `<p id="login-error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input id="id_username" name="username" autofocus></label>
<label>Password <input id="id_password" name="password" type="password"></label>
<button id="provider-submit" type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (details.prompt.name === 'login') {
    if (action !== 'login' || req.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(uid));
      return;
    }
    const form = await readForm(req);
    const user = checkPassword(form.username, form.password);
    if (!user) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(uid, 'Wrong username or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
    return;
  }
  // consent: the hub is a first-party client, grant what it asked for
  const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
createServer(async (req, res) => {
  const m = req.url.match(/^\/interaction\/([^/?]+)(?:\/(login))?/);
  if (!m) return callback(req, res);
  try {
    await interaction(req, res, m[1], m[2]);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  }
}).listen(spec.port, host, () => console.log(`test OIDC provider at ${issuer}`));
