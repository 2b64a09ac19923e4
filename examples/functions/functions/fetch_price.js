// SPDX-License-Identifier: Apache-2.0
// The seed's fetchPriceData (shared/seeds/002), for the sandbox: the only
// capability is secrets.get; the function returns the request it would make
// (the runtime, not the function, owns the network).
function fetchPriceData(token) {
  const apiKey = secrets.get('app/price-feed/exchange_api_key');
  return {
    url: `https://api.exchange.example/prices/${encodeURIComponent(token)}`,
    headers: { Authorization: `Bearer ${apiKey}` },
  };
}
