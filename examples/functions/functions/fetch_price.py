# SPDX-License-Identifier: Apache-2.0
# The seed's fetchPriceData (shared/seeds/002) in Python: the only capability
# is secrets.get; the function returns the request it would make.
def fetch_price_data(token):
    api_key = secrets.get("app/price-feed/exchange_api_key")  # noqa: F821 (injected)
    return {
        "url": "https://api.exchange.example/prices/%s" % token,
        "headers": {"Authorization": "Bearer " + api_key},
    }
