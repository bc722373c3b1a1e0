/*
 * rerank.c: ualign from C. Solves the majority/minority case of docs/maths.md §7, certifies two
 * policies, draws seeded picks, and checks that a NaN score is rejected.
 *
 * stdout is a machine report: every float is the hex of its IEEE-754 bits. .ci/capi.sh diffs it
 * against `cargo run --release -p ualign-capi --example reference`, which computes the same
 * report through the Rust API, so a passing diff means bit-for-bit equal results.
 * stderr is the human-readable version. The program also checks the known answer itself
 * (policy (0.8, 0.2, 0), worst-case win rate 2/3) and exits 1 on any failure.
 *
 * Build (see .ci/capi.sh):
 *   cargo build --release -p ualign-capi
 *   cc -std=c99 -Wall -Wextra -Werror -Icapi/include examples/c/rerank.c \
 *      target/release/libualign_capi.a -lm -lpthread -ldl -o rerank
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ualign.h"

#define N 3 /* candidates: a = 0, b = 1, c = 2 */
#define M 2 /* user types */

static int failures = 0;

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}

static uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static void print_cert(const char *name, const ualign_certificate *c) {
    printf("%s k=%" PRIu32 " wcwr=%08" PRIx32 " e=%08" PRIx32 " worst=%" PRIu32 " bound=%08" PRIx32
           "\n",
           name, c->k, bits(c->worst_case_win_rate), bits(c->exploitability), c->worst_opponent,
           bits(c->bound));
    fprintf(stderr, "  %s: k=%u worst-case win rate %.7f (bound %.7f), exploitability %.3g, "
                    "worst opponent %u\n",
            name, (unsigned)c->k, c->worst_case_win_rate, c->bound, c->exploitability,
            (unsigned)c->worst_opponent);
}

int main(void) {
    /* 60% rank a > c > b, 40% rank b > c > a (higher score = better). */
    const float weights[M] = {0.6f, 0.4f};
    float scores[M * N] = {
        3.0f, 1.0f, 2.0f, /* a > c > b */
        1.0f, 3.0f, 2.0f, /* b > c > a */
    };
    float weights_buf[UALIGN_WEIGHTS_BUF_LEN(M)];
    uint16_t order_buf[UALIGN_ORDER_BUF_LEN(N, M)];
    ualign_population pop;
    int st;

    check(ualign_weights_buf_len(M) == M && ualign_order_buf_len(N, M) == N * M, "buffer sizes");

    st = ualign_population_init(&pop, N, M, scores, weights, weights_buf, M, order_buf, N * M);
    printf("init status=%d\n", st);
    check(st == UALIGN_OK, "population_init");
    if (st != UALIGN_OK) {
        fprintf(stderr, "init: %s\n", ualign_status_str(st));
        return 1;
    }

    /* Solve for k = 2. */
    const uint32_t k = 2;
    float policy[N];
    uint32_t iterations = 0;
    ualign_certificate cert;
    st = ualign_solve(&pop, k, 1e-5f, 10000, policy, N, &iterations, &cert);
    printf("solve status=%d\n", st);
    check(st == UALIGN_OK, "solve");
    if (st != UALIGN_OK) {
        fprintf(stderr, "solve: %s\n", ualign_status_str(st));
        return 1;
    }
    printf("solve iterations=%" PRIu32 "\n", iterations);
    printf("solve policy=%08" PRIx32 " %08" PRIx32 " %08" PRIx32 "\n", bits(policy[0]),
           bits(policy[1]), bits(policy[2]));
    fprintf(stderr, "k=2 equilibrium after %u iterations: a %.6f, b %.6f, c %.6f\n",
            (unsigned)iterations, policy[0], policy[1], policy[2]);
    print_cert("solve", &cert);
    check(fabsf(policy[0] - 0.8f) < 1e-3f && fabsf(policy[1] - 0.2f) < 1e-3f &&
              policy[2] < 1e-3f,
          "policy is (0.8, 0.2, 0)");
    check(fabsf(cert.worst_case_win_rate - 2.0f / 3.0f) < 1e-4f, "worst-case win rate is 2/3");
    check(cert.exploitability <= 1e-5f, "converged to epsilon");

    /* NLHF's answer, the point mass on a: win rate 0.6 whatever k. */
    const float point_mass[N] = {1.0f, 0.0f, 0.0f};
    st = ualign_certify(&pop, point_mass, N, k, &cert);
    check(st == UALIGN_OK, "certify point mass");
    print_cert("certify_point_mass_a", &cert);
    check(fabsf(cert.worst_case_win_rate - 0.6f) < 1e-6f, "point mass wins 0.6");

    const float third = 1.0f / 3.0f;
    const float uniform[N] = {third, third, third};
    st = ualign_certify(&pop, uniform, N, k, &cert);
    check(st == UALIGN_OK, "certify uniform");
    print_cert("certify_uniform", &cert);

    /* Seeded picks from the equilibrium. */
    const uint64_t seed = 42;
    const uint32_t picks_k = 8;
    uint16_t picks[8];
    size_t distinct = 0;
    st = ualign_picks(policy, N, picks_k, seed, picks, 8, &distinct);
    check(st == UALIGN_OK, "picks");
    printf("picks seed=%" PRIu64 " k=%" PRIu32 " picks=", seed, picks_k);
    for (uint32_t i = 0; i < picks_k; i++) {
        printf(i ? " %u" : "%u", (unsigned)picks[i]);
        check(picks[i] < 2, "picks have mass");
    }
    printf("\npicks distinct=%zu\n", distinct);
    fprintf(stderr, "  %zu distinct of %u picks (seed %" PRIu64 ")\n", distinct,
            (unsigned)picks_k, seed);

    /* Bad input: a NaN score is rejected with its own status, and nothing crashes. */
    ualign_population bad;
    scores[1 * N + 2] = NAN;
    st = ualign_population_init(&bad, N, M, scores, weights, weights_buf, M, order_buf, N * M);
    printf("nan_score status=%d\n", st);
    fprintf(stderr, "NaN score: %d (%s)\n", st, ualign_status_str(st));
    check(st == UALIGN_ERR_NON_FINITE_SCORE, "NaN score gives UALIGN_ERR_NON_FINITE_SCORE");
    st = ualign_solve(&bad, k, 1e-5f, 10000, policy, N, &iterations, &cert);
    check(st == UALIGN_ERR_NULL_POINTER, "a failed population is unusable");
    check(ualign_solve(NULL, k, 1e-5f, 10000, policy, N, &iterations, &cert) ==
              UALIGN_ERR_NULL_POINTER,
          "NULL population");

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    fprintf(stderr, "rerank: all checks passed\n");
    return 0;
}
