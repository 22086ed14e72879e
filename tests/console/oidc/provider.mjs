// The OpenID provider the console's login tests run against: panva/oidc-provider (OpenID Certified),
// started by tests/console/test_console_oidc.py with its port, keys (JWKS with the private key, so
// the tests can also sign tokens the console must refuse), accounts and the console's redirect URI.
//
// Authorization-code flow with PKCE; the ID token carries the official's roles/division/dept (under
// the claim names the test maps); the access token for the services' resource is a JWT (RFC 9068)
// with those claims too, audience "fupin", signed with the same key (the services verify it against
// this provider's JWKS). RP-Initiated Logout (its default end_session_endpoint, /session/end) sends the
// official back to the console's post-logout redirect URI.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = process.env.ISSUER;
const accounts = JSON.parse(process.env.ACCOUNTS);
const resource = process.env.RESOURCE;
const audience = process.env.AUDIENCE;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: JSON.parse(process.env.JWKS),
  cookies: { keys: ['fupin-test-provider-cookie-key'] },
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name', 'fupin_roles', 'fupin_division', 'fupin_dept'] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'fupin', audience, accessTokenFormat: 'jwt', accessTokenTTL: 600,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  async extraTokenClaims(ctx, token) {
    const account = accounts[token.accountId];
    return account ? { fupin_roles: account.fupin_roles, fupin_division: account.fupin_division } : undefined;
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
