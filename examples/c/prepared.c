/*
 * prepared.c: one prepared population (ualign_prepared) reused by many calls.
 *
 * Builds the handle once from a small reranking instance (5 candidate responses scored by 4
 * weighted user types, with ties), frees the caller's score matrix right away (the handle keeps
 * what it needs), then solves and certifies for k = 1..8 with the handle. Every answer is
 * checked bit for bit against the one-shot calls (ualign_population_init + ualign_solve /
 * ualign_certify) on the same inputs, and a few bad arguments are checked to return their status
 * codes. Then a stream of related requests (the same users, the candidates re-scored a little
 * each time) is solved cold and warm, each warm solve starting from the previous request's
 * policy (ualign_solve_prepared_warm, checked against ualign_solve_warm and its certificate
 * against ualign_certify_prepared). Prints a human-readable summary to stdout; exits 1 on any
 * failure.
 *
 * Build (see .ci/capi.sh):
 *   cargo build --release -p ualign-capi
 *   cc -std=c99 -Wall -Wextra -Werror -Icapi/include examples/c/prepared.c \
 *      target/release/libualign_capi.a -lm -lpthread -ldl -o prepared
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ualign.h"

#define N 5 /* candidate responses */
#define M 4 /* user types */

static int failures = 0;

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

static int same_cert(const ualign_certificate *a, const ualign_certificate *b) {
    return memcmp(a, b, sizeof *a) == 0;
}

int main(void) {
    static const float initial_scores[M * N] = {
        5.0f, 4.0f, 3.0f, 2.0f, 1.0f, /* user type 0 */
        1.0f, 2.0f, 3.0f, 4.0f, 5.0f, /* user type 1 */
        3.0f, 5.0f, 5.0f, 1.0f, 2.0f, /* user type 2: candidates 1 and 2 tie */
        2.0f, 2.0f, 4.0f, 4.0f, 1.0f, /* user type 3: two ties */
    };
    const float weights[M] = {0.35f, 0.3f, 0.2f, 0.15f};

    /* The caller's scores live on the heap and are freed as soon as the handle exists. */
    float *scores = malloc(sizeof initial_scores);
    if (!scores) return 1;
    memcpy(scores, initial_scores, sizeof initial_scores);

    ualign_prepared *pop = NULL;
    int st = ualign_prepared_new(&pop, N, M, scores, weights);
    free(scores);
    if (st != UALIGN_OK) {
        fprintf(stderr, "ualign_prepared_new: %s\n", ualign_status_str(st));
        return 1;
    }

    /* The one-shot form of the same population, to compare against. */
    float weights_buf[UALIGN_WEIGHTS_BUF_LEN(M)];
    uint16_t order_buf[UALIGN_ORDER_BUF_LEN(N, M)];
    ualign_population once;
    st = ualign_population_init(&once, N, M, initial_scores, weights, weights_buf, M, order_buf,
                                (size_t)M * N);
    check(st == UALIGN_OK, "ualign_population_init");

    const float uniform[N] = {0.2f, 0.2f, 0.2f, 0.2f, 0.2f};
    for (uint32_t k = 1; k <= 8; k++) {
        float policy[N], policy_once[N];
        uint32_t iterations = 0, iterations_once = 0;
        ualign_certificate cert, cert_once;

        st = ualign_solve_prepared(pop, k, 1e-4f, 10000, policy, N, &iterations, &cert);
        check(st == UALIGN_OK, "ualign_solve_prepared");
        st = ualign_solve(&once, k, 1e-4f, 10000, policy_once, N, &iterations_once, &cert_once);
        check(st == UALIGN_OK, "ualign_solve");
        check(memcmp(policy, policy_once, sizeof policy) == 0 &&
                  iterations == iterations_once && same_cert(&cert, &cert_once),
              "prepared solve == one-shot solve, bit for bit");
        printf("k=%u: worst-case win rate %.6f (bound %.6f) after %u iterations; policy",
               (unsigned)k, cert.worst_case_win_rate, cert.bound, (unsigned)iterations);
        for (int y = 0; y < N; y++) printf(" %.4f", policy[y]);
        printf("\n");

        st = ualign_certify_prepared(pop, uniform, N, k, &cert);
        check(st == UALIGN_OK, "ualign_certify_prepared");
        st = ualign_certify(&once, uniform, N, k, &cert_once);
        check(st == UALIGN_OK && same_cert(&cert, &cert_once),
              "prepared certify == one-shot certify, bit for bit");
        printf("      uniform policy wins %.6f\n", cert.worst_case_win_rate);
    }

    /* Bad arguments return status codes; nothing crashes. */
    float policy[N];
    uint32_t iterations;
    ualign_certificate cert;
    check(ualign_solve_prepared(NULL, 2, 1e-4f, 100, policy, N, &iterations, &cert) ==
              UALIGN_ERR_NULL_POINTER,
          "NULL handle");
    check(ualign_solve_prepared(pop, 0, 1e-4f, 100, policy, N, &iterations, &cert) ==
              UALIGN_ERR_INVALID_K,
          "k = 0");
    check(ualign_certify_prepared(pop, uniform, N - 1, 2, &cert) == UALIGN_ERR_BAD_SIZE,
          "policy of the wrong length");
    ualign_prepared *bad = pop;
    const float bad_weights[M] = {0.0f, 0.0f, 0.0f, 0.0f};
    check(ualign_prepared_new(&bad, N, M, initial_scores, bad_weights) ==
                  UALIGN_ERR_ZERO_TOTAL_WEIGHT &&
              bad == NULL,
          "zero weights give UALIGN_ERR_ZERO_TOTAL_WEIGHT and a NULL handle");

    /* Warm starts: a stream of requests re-scoring the candidates a little each time. Each
     * request is solved cold and warm from the previous request's policy; the warm solve's
     * certificate is the exact one of its policy, as for any solve. */
    float start[N], warm[N], rescored[M * N];
    uint32_t cold_total = 0, warm_total = 0;
    uint32_t state = 12345u;
    for (int y = 0; y < N; y++) start[y] = 1.0f / N;
    memcpy(rescored, initial_scores, sizeof rescored);
    for (int r = 0; r < 6; r++) {
        /* Request r re-scores every candidate of request r - 1 by at most 0.1 (a random walk). */
        for (int i = 0; r > 0 && i < M * N; i++) {
            state = state * 1664525u + 1013904223u;
            rescored[i] += 0.1f * ((float)(state >> 8) / 16777216.0f * 2.0f - 1.0f);
        }
        ualign_prepared *req = NULL;
        st = ualign_prepared_new(&req, N, M, rescored, weights);
        check(st == UALIGN_OK, "ualign_prepared_new (stream)");
        if (st != UALIGN_OK) break;
        uint32_t cold_iterations = 0, warm_iterations = 0, once_iterations = 0;
        ualign_certificate cold_cert, warm_cert, once_cert, check_cert;
        st = ualign_solve_prepared(req, 3, 1e-4f, 10000, policy, N, &cold_iterations, &cold_cert);
        check(st == UALIGN_OK, "ualign_solve_prepared (stream)");
        st = ualign_solve_prepared_warm(req, 3, 1e-4f, 10000, start, N, warm, N,
                                        &warm_iterations, &warm_cert);
        check(st == UALIGN_OK, "ualign_solve_prepared_warm");
        st = ualign_certify_prepared(req, warm, N, 3, &check_cert);
        check(st == UALIGN_OK && same_cert(&warm_cert, &check_cert),
              "a warm solve's certificate is the exact one of its policy");

        /* The one-shot form gives the same bits. */
        ualign_population req_once;
        float once[N];
        st = ualign_population_init(&req_once, N, M, rescored, weights, weights_buf, M,
                                    order_buf, (size_t)M * N);
        check(st == UALIGN_OK, "ualign_population_init (stream)");
        st = ualign_solve_warm(&req_once, 3, 1e-4f, 10000, start, N, once, N, &once_iterations,
                               &once_cert);
        check(st == UALIGN_OK && memcmp(once, warm, sizeof once) == 0 &&
                  once_iterations == warm_iterations && same_cert(&once_cert, &warm_cert),
              "prepared warm solve == one-shot warm solve, bit for bit");
        printf("request %d: cold %u evaluations, warm %u; worst-case win rate cold %.6f, warm %.6f\n",
               r, (unsigned)cold_iterations, (unsigned)warm_iterations,
               cold_cert.worst_case_win_rate, warm_cert.worst_case_win_rate);
        if (r > 0) {
            cold_total += cold_iterations;
            warm_total += warm_iterations;
        }
        memcpy(start, warm, sizeof start);

        /* Bad starts. */
        const float zero[N] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        check(ualign_solve_prepared_warm(req, 3, 1e-4f, 100, start, N - 1, warm, N, &iterations,
                                         &cert) == UALIGN_ERR_BAD_SIZE,
              "a start of the wrong length");
        check(ualign_solve_prepared_warm(req, 3, 1e-4f, 100, zero, N, warm, N, &iterations,
                                         &cert) == UALIGN_ERR_INVALID_POLICY,
              "a start summing to zero");
        check(ualign_solve_prepared_warm(req, 3, 1e-4f, 100, warm, N, warm, N, &iterations,
                                         &cert) == UALIGN_ERR_NULL_POINTER,
              "a start overlapping the policy");
        ualign_prepared_free(req);
    }
    /* Fewer on this stream; a start far from the new equilibrium may cost more than a cold one. */
    printf("warm stream: %u share evaluations warm against %u cold (requests 1 to 5)\n",
           (unsigned)warm_total, (unsigned)cold_total);

    ualign_prepared_free(pop);
    ualign_prepared_free(NULL); /* a no-op */

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("prepared: all checks passed\n");
    return 0;
}
