/* SPDX-License-Identifier: Apache-2.0 */
#include "vault_registry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "teevault.pb-c.h"

/* Every service teevaultd serves. Plain references: linking vault_server.o
 * (which uses the registry) pulls each rpc_<service>.o out of libtv_vault. */
static const vault_service *const services[] = {
    &vault_rpc_sys,       &vault_rpc_auth,        &vault_rpc_secrets, &vault_rpc_policies,
    &vault_rpc_functions, &vault_rpc_attestation, &vault_rpc_audit,   &vault_rpc_governance,
};
#define N_SERVICES  (sizeof(services) / sizeof(services[0]))
#define METHODS_MAX 128

static struct {
    vault_method methods[METHODS_MAX];
    size_t n;
    size_t first[N_SERVICES]; /* index of each service's first method */
    size_t count[N_SERVICES];
    size_t slen[N_SERVICES];
    int bad; /* inconsistent: lookups find nothing */
    char err[256];
} reg;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg_build(void)
{
    for (size_t s = 0; s < N_SERVICES; s++) {
        const ProtobufCServiceDescriptor *d = services[s]->desc;
        const vault_handler *h;
        reg.first[s] = reg.n;
        reg.slen[s] = strlen(d->name);
        for (unsigned i = 0; i < d->n_methods; i++) {
            const ProtobufCMethodDescriptor *md = &d->methods[i];
            const vault_handler *found = NULL;
            for (h = services[s]->handlers; h->fn; h++) {
                if (strcmp(h->method, md->name) != 0)
                    continue;
                if (found) {
                    snprintf(reg.err, sizeof(reg.err), "%s/%s has two handlers", d->name, md->name);
                    reg.bad = 1;
                    return;
                }
                found = h;
            }
            if (!found) {
                snprintf(reg.err, sizeof(reg.err), "%s/%s has no handler", d->name, md->name);
                reg.bad = 1;
                return;
            }
            if (reg.n == METHODS_MAX) {
                snprintf(reg.err, sizeof(reg.err), "more than %d methods", METHODS_MAX);
                reg.bad = 1;
                return;
            }
            reg.methods[reg.n++] = (vault_method){.service = d->name,
                                                  .method = md->name,
                                                  .req_desc = md->input,
                                                  .resp_desc = md->output,
                                                  .fn = found->fn,
                                                  .flags = found->flags};
        }
        for (h = services[s]->handlers; h->fn; h++)
            if (!protobuf_c_service_descriptor_get_method_by_name(d, h->method)) {
                snprintf(reg.err, sizeof(reg.err), "handler %s/%s is not in the proto", d->name,
                         h->method);
                reg.bad = 1;
                return;
            }
        reg.count[s] = reg.n - reg.first[s];
    }
}

static void reg_init(void)
{
    pthread_once(&reg_once, reg_build);
}

int vault_registry_check(char *err, size_t errlen)
{
    reg_init();
    if (reg.bad) {
        snprintf(err, errlen, "service registry: %s", reg.err);
        return TV_ERR_INTERNAL;
    }
    return 0;
}

const vault_method *vault_method_find(const char *service, size_t slen, const char *method,
                                      size_t mlen)
{
    reg_init();
    if (reg.bad || !service || !method)
        return NULL;
    for (size_t s = 0; s < N_SERVICES; s++) {
        if (reg.slen[s] != slen || memcmp(services[s]->desc->name, service, slen) != 0)
            continue;
        for (size_t i = reg.first[s]; i < reg.first[s] + reg.count[s]; i++) {
            const vault_method *m = &reg.methods[i];
            if (strlen(m->method) == mlen && memcmp(m->method, method, mlen) == 0)
                return m;
        }
        return NULL;
    }
    return NULL;
}

const vault_method *vault_method_find_path(const char *path, size_t len)
{
    if (!path || len < 4 || path[0] != '/')
        return NULL;
    const char *slash = memchr(path + 1, '/', len - 1);
    if (!slash)
        return NULL;
    size_t slen = (size_t)(slash - (path + 1));
    return vault_method_find(path + 1, slen, slash + 1, len - slen - 2);
}

size_t vault_method_count(void)
{
    reg_init();
    return reg.bad ? 0 : reg.n;
}

const vault_method *vault_method_at(size_t i)
{
    reg_init();
    return !reg.bad && i < reg.n ? &reg.methods[i] : NULL;
}

const vault_method *vault_service_method(const vault_service *svc, const char *method)
{
    return svc && method
               ? vault_method_find(svc->desc->name, strlen(svc->desc->name), method, strlen(method))
               : NULL;
}
