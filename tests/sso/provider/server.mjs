// A real OpenID Connect provider for the SSO tests: panva's oidc-provider (the certified
// implementation behind many identity products), on a free loopback port.
//
//   OIDC_CLIENTS='[{"client_id":..,"client_secret":..,"redirect_uris":[..]}]' \
//   OIDC_ACCOUNTS='{"eve":{"email":..,"email_verified":true,"name":..,"employee_number":..}}' \
//   node server.mjs
//
// Prints one line, `READY <issuer>`, once it listens. The sign-in page is the library's own
// development interaction (any login name from OIDC_ACCOUNTS, then "Continue" on the consent
// page); everything after it (codes, PKCE, tokens, signed ID tokens, userinfo) is the real thing.
import http from 'node:http';

import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    cookies: { keys: ['consent-portal-test-only-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'employee_number'],
    },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
