/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_registry: the service registry is built from protoc-c's service
 * descriptors; every rpc in proto/teevault.proto has a handler, the message
 * types come from the descriptors, and lookups by name and by HTTP path
 * agree. Links libtv_vault like teevaultd (no whole-archive link): an rpc_*.o
 * that were not pulled in would show up here as a missing handler.
 */
#include <string.h>

#include "teevault.pb-c.h"
#include "tv_test.h"
#include "vault.h"
#include "vault_registry.h"
#include "vault_rpc.h"

static const ProtobufCServiceDescriptor *const all[] = {
    &teevault__v1__sys__descriptor,       &teevault__v1__auth__descriptor,
    &teevault__v1__secrets__descriptor,   &teevault__v1__policies__descriptor,
    &teevault__v1__functions__descriptor, &teevault__v1__attestation__descriptor,
    &teevault__v1__audit__descriptor,     &teevault__v1__governance__descriptor,
};

static void test_every_rpc_has_a_handler(void)
{
    char err[256] = "";
    size_t total = 0;
    CHECK_EQ_INT(vault_registry_check(err, sizeof(err)), 0);
    for (size_t s = 0; s < sizeof(all) / sizeof(all[0]); s++) {
        for (unsigned i = 0; i < all[s]->n_methods; i++) {
            const ProtobufCMethodDescriptor *md = &all[s]->methods[i];
            const vault_method *m =
                vault_method_find(all[s]->name, strlen(all[s]->name), md->name, strlen(md->name));
            CHECK(m != NULL);
            if (!m)
                continue;
            CHECK(m->fn != NULL);
            CHECK(m->req_desc == md->input);
            CHECK(m->resp_desc == md->output);
            CHECK(!strcmp(m->service, all[s]->name));
            total++;
        }
    }
    CHECK_EQ_INT(vault_method_count(), total);
    CHECK(vault_method_at(total) == NULL);
}

static void test_lookup(void)
{
    const vault_method *get = vault_method_find("teevault.v1.Secrets", 19, "Get", 3);
    CHECK(get != NULL);
    CHECK(get && get->req_desc == &teevault__v1__get_request__descriptor);
    CHECK(get && (get->flags & VAULT_M_FUNCTION));
    CHECK(vault_service_method(&vault_rpc_secrets, "Get") == get);
    CHECK(vault_method_find_path("/teevault.v1.Secrets/Get", 24) == get);
    /* Names are compared with their lengths, not as prefixes. */
    CHECK(vault_method_find("teevault.v1.Secrets", 19, "Ge", 2) == NULL);
    CHECK(vault_method_find("teevault.v1.Secret", 18, "Get", 3) == NULL);
    CHECK(vault_method_find("teevault.v1.Secrets", 19, "GetX", 4) == NULL);
    /* Same method name in two services resolves per service. */
    const vault_method *pl = vault_method_find("teevault.v1.Policies", 20, "List", 4);
    const vault_method *sl = vault_method_find("teevault.v1.Secrets", 19, "List", 4);
    CHECK(pl && sl && pl != sl && pl->fn != sl->fn);
    /* Malformed paths. */
    CHECK(vault_method_find_path("teevault.v1.Secrets/Get", 23) == NULL);
    CHECK(vault_method_find_path("/teevault.v1.Secrets/", 21) == NULL);
    CHECK(vault_method_find_path("/teevault.v1.Secrets", 20) == NULL);
    CHECK(vault_method_find_path("/teevault.v1.Secrets/Get/x", 26) == NULL);
    CHECK(vault_method_find_path("//Get", 5) == NULL);
    CHECK(vault_method_find_path("", 0) == NULL);
    CHECK(vault_method_find_path(NULL, 0) == NULL);
}

/* The shared run refuses a call whose deadline already passed, before it
 * looks at the vault, the token or the payload. */
static void test_deadline(void)
{
    const vault_method *get = vault_method_find("teevault.v1.Secrets", 19, "Get", 3);
    vault_call c;
    vault_principal pr;
    proto_buf out;
    int ok = 1;
    memset(&c, 0, sizeof(c));
    memset(&pr, 0, sizeof(pr));
    proto_buf_init(&out, 0);
    c.principal = &pr;
    c.service = get->service;
    c.method = get->method;
    c.deadline_us = 1; /* long past */
    CHECK_EQ_INT(vault_call_run(get, &c, &pr, &ok, NULL, 0, &out), TV_ERR_TIMEOUT);
    CHECK(ok == 0 && out.len == 0 && strstr(c.errmsg, "deadline") != NULL);
    proto_buf_free(&out);
}

int main(void)
{
    RUN(test_every_rpc_has_a_handler);
    RUN(test_lookup);
    RUN(test_deadline);
    return tv_test_finish();
}
