// A DPoP client made with a library nobody here wrote (oauth4webapi 3.8.8), for the DPoP
// interop test: it reads the API's protected-resource metadata (RFC 9728), gets a DPoP-bound
// access token from oidc-provider (client credentials, RFC 9449 §5), calls the API with it
// and a proof (retrying once on `use_dpop_nonce`, RFC 9449 §9), then without a proof.
//
// node dpop_client.mjs --issuer URL --resource URI --api URL
//
// Prints one JSON line with what happened; the Rust test judges it.
import * as oauth from 'oauth4webapi';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) throw new Error(`--${name} is required`);
  return args[i + 1];
};
const issuer = new URL(arg('issuer'));
const resource = new URL(arg('resource'));
const api = new URL(arg('api'));
const insecure = { [oauth.allowInsecureRequests]: true };
const out = {};

// RFC 9728: the resource names its authorization server; the client checks `resource`.
const metadata = await oauth.processResourceDiscoveryResponse(
  resource,
  await oauth.resourceDiscoveryRequest(resource, insecure),
);
out.metadata = metadata;

const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
);
const client = { client_id: 'interop-client' };
const auth = oauth.ClientSecretBasic('interop-secret');
const keyPair = await oauth.generateKeyPair('ES256');
const DPoP = oauth.DPoP(client, keyPair);

const grant = () =>
  oauth.clientCredentialsGrantRequest(as, client, auth, { resource: resource.href, scope: 'orders:read' }, {
    DPoP,
    ...insecure,
  });
let tokenResponse = await grant();
let tokens;
try {
  tokens = await oauth.processClientCredentialsResponse(as, client, tokenResponse);
} catch (err) {
  if (!oauth.isDPoPNonceError(err)) throw err;
  tokens = await oauth.processClientCredentialsResponse(as, client, await grant());
}
out.token_type = tokens.token_type;
const token = tokens.access_token;

// The API with the token and a proof; the library retries once when the API wants a nonce.
const call = () => oauth.protectedResourceRequest(token, 'GET', api, new Headers(), null, { DPoP, ...insecure });
let response;
out.nonce_retry = false;
try {
  response = await call();
} catch (err) {
  if (!oauth.isDPoPNonceError(err)) throw err;
  out.nonce_retry = true;
  response = await call();
}
out.with_proof = { status: response.status, body: await response.json() };

// The same token without a proof: as Bearer, and with the DPoP scheme but no DPoP header.
const bearer = await fetch(api, { headers: { authorization: `Bearer ${token}` } });
out.as_bearer = { status: bearer.status, challenge: bearer.headers.get('www-authenticate') };
const noProof = await fetch(api, { headers: { authorization: `DPoP ${token}` } });
out.without_proof = { status: noProof.status, challenge: noProof.headers.get('www-authenticate') };

console.log(JSON.stringify(out));
