// A certified OpenID Provider (oidc-provider 8.8.1) for the interop tests, on 127.0.0.1.
//
// node provider.mjs --port 0 --keys keys.json --redirect URI --post-logout URI [--rotate]
//                   [--dpop-resource URI] [--backchannel URI]
//
// Prints "LISTENING <port>" once ready. Keys: private JWKs kept in --keys; a missing file gets
// one new RSA key; --rotate puts a new key first (oidc-provider signs with it) and keeps the
// old ones published. Logins are approved without a browser: the interaction route signs in
// the test user and grants the requested scopes at once. --dpop-resource turns on DPoP
// (RFC 9449) and the client credentials grant: the client gets DPoP-bound JWT access tokens
// (cnf.jkt) for that resource (RFC 8707), audience the resource, scope `orders:read`.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(arg('port', '0'));
const keysFile = arg('keys', 'keys.json');
const redirect = arg('redirect');
const postLogout = arg('post-logout');
const rotate = args.includes('--rotate');
const dpopResource = arg('dpop-resource');
// OpenID Connect Back-Channel Logout 1.0: logout tokens (with `sid`) POSTed to this URI when
// the user's provider session ends.
const backchannel = arg('backchannel');
if (!redirect || !postLogout) {
  console.error('usage: provider.mjs --port N --keys FILE --redirect URI --post-logout URI [--rotate]');
  process.exit(2);
}

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `interop-${randomUUID()}`, alg: 'RS256', use: 'sig' };
}

let keys = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : [];
if (keys.length === 0 || rotate) keys = [newKey(), ...keys];
writeFileSync(keysFile, JSON.stringify(keys));

function dpopFeatures(resource) {
  return {
    dPoP: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: 'orders:read',
          audience: resource,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  };
}

const ACR_VALUES = ['urn:interop:loa:1', 'urn:interop:loa:2'];

const USER = {
  sub: 'interop-user-1',
  name: 'Interop User',
  email: 'interop.user@example.com',
  email_verified: true,
};

const http = await import('node:http');
const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'interop-client',
      client_secret: 'interop-secret',
      redirect_uris: [redirect],
      post_logout_redirect_uris: [postLogout],
      grant_types: dpopResource ? ['authorization_code', 'client_credentials'] : ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(backchannel
        ? { backchannel_logout_uri: backchannel, backchannel_logout_session_required: true }
        : {}),
    },
  ],
  jwks: { keys },
  // Authentication context classes (OpenID Connect Core §2): the step-up tests ask for the
  // stronger one with `acr_values`; the interaction signs in with the first one asked that is
  // supported, else the weaker one.
  acrValues: ACR_VALUES,
  cookies: { keys: ['interop-cookie-key-not-secret'] },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  features: {
    ...(dpopResource ? dpopFeatures(dpopResource) : {}),
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: Boolean(backchannel) },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><html><body>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
      },
    },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ ...USER, sub: id }),
  }),
});
provider.proxy = false;

// Auto-approve: sign the test user in, then grant what the client asked for.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const asked = String(params.acr_values || '').split(' ');
    const acr = asked.find((value) => ACR_VALUES.includes(value)) || ACR_VALUES[0];
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: USER.sub, acr } }, { mergeWithLastSubmission: false });
    return undefined;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  return undefined;
});

server.on('request', provider.callback());
console.log(`LISTENING ${actualPort}`);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The test closes stdin when it is done (or dies): stop then too.
process.stdin.on('end', stop);
process.stdin.resume();
