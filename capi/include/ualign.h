/*
 * ualign.h: the C ABI of ualign (asymptotic universal alignment, certified, without an allocator).
 *
 * Link against libualign_capi.a (static; also needs -lm -lpthread -ldl on Linux) or
 * libualign_capi.so, both built by `cargo build --release -p ualign-capi`.
 * C99; usable from C++ (the declarations are wrapped in extern "C").
 *
 * What it computes (see docs/maths.md): n candidate responses, m weighted user types that score
 * them (higher is better, equal scores tie). Showing a user k draws from the symmetric Nash
 * equilibrium of the (k+1)-player alignment game wins against any single rival response with
 * probability at least k/(k+1). ualign_solve finds that equilibrium and certifies it (bounds
 * never on the wrong side of the exact values for the policy written and the population's
 * weights as normalised: whole-number weights below 2^22 exactly, others as their float32
 * shares of the total, each rounded to nearest; docs/certificates.md), ualign_certify
 * certifies any policy,
 * ualign_picks draws the k responses reproducibly.
 * ualign_solve_warm starts the solver from a previous equilibrium (a stream of related
 * requests: the same users, the candidates re-scored), which saves share evaluations and never
 * changes what is certified.
 *
 * A population comes in two forms. A ualign_population (ualign_population_init) is a struct the
 * caller owns that points at the caller's inputs and workspace; nothing allocates, and every call
 * rebuilds the population from the inputs. A ualign_prepared (ualign_prepared_new) is an
 * opaque handle that owns a population built once: ualign_solve_prepared,
 * ualign_solve_prepared_warm and ualign_certify_prepared reuse it without rebuilding, until
 * ualign_prepared_free. Both forms give the same results, bit for bit.
 *
 * Conventions
 * -----------
 * - Every function that can fail returns an int status: UALIGN_OK (0) or a negative
 *   UALIGN_ERR_* code; ualign_status_str(status) describes it. Output parameters are written
 *   only on success (except ualign_population_init and ualign_prepared_new, which empty
 *   *pop and *out on failure, unless it overlaps another buffer of the call: at its length,
 *   or at its first element when the call's sizes are wrong). The ualign_population struct
 *   passed to a call is one of its buffers: outputs written over it are refused.
 * - Only ualign_prepared_new allocates (failure: UALIGN_ERR_OUT_OF_MEMORY, never an abort),
 *   and only ualign_prepared_free frees. No function keeps a pointer past its return (other
 *   than the pointers recorded in a ualign_population) or lets a Rust panic escape (a caught
 *   panic is UALIGN_ERR_INTERNAL).
 * - Capacities: n <= UALIGN_MAX_CANDIDATES (1024) candidates, 1 <= k <= UALIGN_MAX_K (1024).
 *   The number of user types m is limited only by the workspace the caller provides (or by
 *   memory, for ualign_prepared_new).
 * - Stack: the solver and the certificate keep their scratch arrays on the stack, sized by the
 *   smallest size class that holds n (32, 256 or 1024 candidates). Give a thread that calls
 *   ualign_solve*, ualign_certify*, ualign_population_init or ualign_prepared_new at least
 *   UALIGN_STACK_BUDGET (256 KiB) of stack; the largest calls need about 167 KiB in a release
 *   build of the library (capi/tests/stack.rs runs them in exactly 256 KiB). An unoptimised
 *   (debug) build of the library needs up to about 440 KiB.
 * - Every pointer must be non-null and aligned for its type, even for zero lengths. A buffer a
 *   call writes must not overlap any other buffer of the call. Violations return
 *   UALIGN_ERR_NULL_POINTER; the library cannot detect dangling or too-short buffers, so the
 *   lengths you pass must be true.
 * - Threads: calls are reentrant, but a ualign_population's workspace is rewritten by every call
 *   that uses it, so do not use one population from two threads at once (give each thread its
 *   own workspace and ualign_population; the score matrix and weights may be shared). A
 *   ualign_prepared is only read by the calls that use it: any number of threads may use one
 *   handle at once, as long as none frees it meanwhile.
 */
#ifndef UALIGN_H
#define UALIGN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Capacities ------------------------------------------------------------------------- */

/** Largest number of candidates n. */
#define UALIGN_MAX_CANDIDATES 1024
/** Largest number of shown responses k. */
#define UALIGN_MAX_K 1024
/** Stack, in bytes, a thread needs for any call (release build of the library). */
#define UALIGN_STACK_BUDGET ((size_t)256 * 1024)

/* ---- Status codes ----------------------------------------------------------------------- */

/** Success. */
#define UALIGN_OK 0
/** A pointer is null or misaligned, a buffer written by the call overlaps another buffer of the
 *  call, or the ualign_population was never successfully initialised. */
#define UALIGN_ERR_NULL_POINTER (-1)
/** A size is wrong: n == 0, n > 1024, m == 0, m * n overflows, an input policy's length is
 *  not n, or a length whose size in bytes exceeds PTRDIFF_MAX or wraps the address space. */
#define UALIGN_ERR_BAD_SIZE (-2)
/** A score is NaN or infinite. */
#define UALIGN_ERR_NON_FINITE_SCORE (-3)
/** A user weight is negative (-infinity included). */
#define UALIGN_ERR_NEGATIVE_WEIGHT (-4)
/** A user weight is NaN or +infinity. */
#define UALIGN_ERR_NON_FINITE_WEIGHT (-5)
/** All user weights are zero. */
#define UALIGN_ERR_ZERO_TOTAL_WEIGHT (-6)
/** k is 0 or larger than UALIGN_MAX_K. */
#define UALIGN_ERR_INVALID_K (-7)
/** epsilon is negative, not finite, or positive but below 1e-7 (0 asks for an exact
 *  equilibrium). */
#define UALIGN_ERR_INVALID_EPSILON (-8)
/** A policy has a negative or non-finite entry, or its entries do not sum to 1 (within 1e-3);
 *  a warm start has a negative or non-finite entry, or its entries sum to zero. */
#define UALIGN_ERR_INVALID_POLICY (-9)
/** A caller buffer is too small: workspace (see the buffer rules), policy, or picks. */
#define UALIGN_ERR_BUFFER_TOO_SMALL (-10)
/** A bug in ualign (a caught panic, or an impossible internal error). Please report it. */
#define UALIGN_ERR_INTERNAL (-11)
/** An allocation failed (only ualign_prepared_new allocates). */
#define UALIGN_ERR_OUT_OF_MEMORY (-12)
/** A positive user weight is at most about 2^-150 of the total: normalised, it rounds to zero,
 *  and its user type would drop out of the game certified. */
#define UALIGN_ERR_NEGLIGIBLE_WEIGHT (-13)

/** A static, NUL-terminated English description of a status code ("unknown status" for values
 *  that are not codes). Never NULL; do not free it. */
const char *ualign_status_str(int status);

/* ---- Buffer rules ----------------------------------------------------------------------- */

/* A population of m user types over n candidates needs, owned by the caller:
 *   scores       m * n floats, row-major: scores[j * n + y] is user type j's score of candidate y
 *   weights      m floats, user type weights (>= 0, finite, not all zero), normalised to their
 *                float32 shares of the total (exact for whole numbers below 2^22): the
 *                certificates are of those shares
 *   weights_buf  at least UALIGN_WEIGHTS_BUF_LEN(m)   = m      floats    (workspace)
 *   order_buf    at least UALIGN_ORDER_BUF_LEN(n, m)  = m * n  uint16_t  (workspace)
 * All four must stay alive, and scores and weights unchanged, while the population is used:
 * every call re-reads them and rebuilds the validated population into the workspace
 * (O(m n log n), small next to solving).
 * ualign_solve writes a policy of n floats (policy_len >= n); ualign_picks writes k uint16_t
 * (picks_len >= k). */
#define UALIGN_WEIGHTS_BUF_LEN(m) ((size_t)(m))
#define UALIGN_ORDER_BUF_LEN(n, m) ((size_t)(n) * (size_t)(m))

/** Elements weights_buf needs for m user types (m). */
size_t ualign_weights_buf_len(size_t m);
/** Elements order_buf needs for m user types over n candidates (m * n), 0 if that overflows. */
size_t ualign_order_buf_len(size_t n, size_t m);

/* ---- Types ------------------------------------------------------------------------------ */

/** A validated population. The caller owns it (declare it on the stack or anywhere); it only
 *  records sizes and the caller's pointers. Filled by ualign_population_init; treat the fields
 *  as read-only. */
typedef struct ualign_population {
    size_t n;                    /**< candidates, 1..=1024 */
    size_t m;                    /**< user types, >= 1 */
    const float *scores;         /**< m * n row-major scores */
    const float *user_weights;   /**< m weights */
    float *weights_buf;          /**< workspace, weights_buf_len >= m floats */
    size_t weights_buf_len;
    uint16_t *order_buf;         /**< workspace, order_buf_len >= m * n entries */
    size_t order_buf_len;
} ualign_population;

/** What showing k draws from a policy guarantees (docs/maths.md §2). */
typedef struct ualign_certificate {
    uint32_t k;                  /**< number of shown responses */
    float worst_case_win_rate;   /**< 1 - max_y g(y): chance of beating the best single rival */
    float exploitability;        /**< max_y g(y) - 1/(k+1), >= 0; 0 at an exact equilibrium */
    uint32_t worst_opponent;     /**< the best rival response: the largest bound on g(y)
                                      (lowest index on ties of the bounds; candidates whose g
                                      ties exactly may have different bounds) */
    float bound;                 /**< k/(k+1), the best any product policy can guarantee */
} ualign_certificate;

/* ---- Functions -------------------------------------------------------------------------- */

/** Validates the population (scores, weights, sizes, buffers), builds it into the workspace,
 *  and records n, m and the pointers in *pop.
 *  Errors: NULL_POINTER, BAD_SIZE, BUFFER_TOO_SMALL, NON_FINITE_SCORE, NEGATIVE_WEIGHT,
 *  NON_FINITE_WEIGHT, ZERO_TOTAL_WEIGHT, NEGLIGIBLE_WEIGHT. On failure *pop is emptied (if pop is usable and
 *  overlaps no other buffer of the call), and later calls with it return
 *  UALIGN_ERR_NULL_POINTER. */
int ualign_population_init(ualign_population *pop, size_t n, size_t m, const float *scores,
                           const float *weights, float *weights_buf, size_t weights_buf_len,
                           uint16_t *order_buf, size_t order_buf_len);

/** Solves for the k-sample equilibrium with optimistic Hedge: stops once the exact
 *  exploitability is <= epsilon, or after max_iter share evaluations (max_iter 0 acts as 1).
 *  Writes the policy into policy[0..n) (policy_len >= n), the share evaluations performed into
 *  *iterations and the exact certificate of the written policy into *cert. Convergence is
 *  cert->exploitability <= epsilon. Typical: k = 4, epsilon = 1e-4f, max_iter = 10000.
 *  Errors: NULL_POINTER, BAD_SIZE, BUFFER_TOO_SMALL, INVALID_K, INVALID_EPSILON, and the
 *  population errors if its inputs were changed since ualign_population_init. */
int ualign_solve(ualign_population *pop, uint32_t k, float epsilon, uint32_t max_iter,
                 float *policy, size_t policy_len, uint32_t *iterations,
                 ualign_certificate *cert);

/** ualign_solve from a warm start: optimistic Hedge starts from start (start_len == n floats,
 *  finite and non-negative with a positive sum, normalised; typically the policy a previous
 *  solve of a related request wrote) mixed with 1e-4 of the uniform policy
 *  (ualign::solver::WARM_FLOOR, so that no candidate starts at zero mass) instead of from
 *  uniform. Only the path changes: *cert is still the exact certificate of the policy written,
 *  and a start near the new equilibrium takes fewer share evaluations (benches/README.md).
 *  start is read and must not overlap policy: keep two buffers and swap them to chain
 *  requests. The same start gives the same bits.
 *  Errors: those of ualign_solve, BAD_SIZE (start_len != n) and INVALID_POLICY (a negative or
 *  non-finite entry in start, or a zero sum). */
int ualign_solve_warm(ualign_population *pop, uint32_t k, float epsilon, uint32_t max_iter,
                      const float *start, size_t start_len, float *policy, size_t policy_len,
                      uint32_t *iterations, ualign_certificate *cert);

/** The exact certificate of showing k draws from policy (policy_len == n entries,
 *  non-negative, finite, summing to 1 within 1e-3), normalised by its exact sum.
 *  Errors: NULL_POINTER, BAD_SIZE, INVALID_K, INVALID_POLICY, and the population errors. */
int ualign_certify(ualign_population *pop, const float *policy, size_t policy_len, uint32_t k,
                   ualign_certificate *cert);

/** k independent draws from policy (n entries, 1 <= n <= 1024) normalised by its sum, the
 *  distribution ualign_certify certifies (exactly so for a policy of ualign_solve), in draw
 *  order, into picks[0..k) (picks_len >= k), from a Xoshiro128++ generator seeded with
 *  seed_from_u64(seed): the same seed gives the same picks on every platform, and the same as
 *  ualign::sampling::picks in Rust. *distinct receives the number of distinct picks; showing
 *  only those (first occurrences, in order) gives the user the same win rate.
 *  Errors: NULL_POINTER, BAD_SIZE, INVALID_K, BUFFER_TOO_SMALL, INVALID_POLICY. */
int ualign_picks(const float *policy, size_t n, uint32_t k, uint64_t seed, uint16_t *picks,
                 size_t picks_len, size_t *distinct);

/* ---- Prepared populations -------------------------------------------------------------- */

/* A ualign_prepared owns its built population: m normalised weights and m * n order entries
 * (m * (4 + 2 n) bytes, plus a small header), allocated by ualign_prepared_new. The caller's
 * scores and weights are read once, by ualign_prepared_new, and may be changed or freed right
 * after it returns. Solving and certifying with a handle skips the O(m n log n) rebuild that
 * every call with a ualign_population does, and gives the same bits. */

/** An opaque prepared population; only ever used through a pointer. */
typedef struct ualign_prepared ualign_prepared;

/** Validates scores (m * n floats, row-major) and weights (m floats) exactly as
 *  ualign_population_init does, builds the population into memory it allocates, and stores the
 *  new handle in *out. *out is set to NULL first (when out is usable and overlaps neither
 *  input), so it is NULL on every other failure. Release the handle with ualign_prepared_free.
 *  Errors: NULL_POINTER (out, scores or weights null or misaligned, or out overlapping them),
 *  BAD_SIZE, NON_FINITE_SCORE, NEGATIVE_WEIGHT, NON_FINITE_WEIGHT, ZERO_TOTAL_WEIGHT,
 *  NEGLIGIBLE_WEIGHT, OUT_OF_MEMORY. */
int ualign_prepared_new(ualign_prepared **out, size_t n, size_t m, const float *scores,
                          const float *weights);

/** ualign_solve on a prepared population: the same arguments after pop, the same checks and,
 *  bit for bit, the same policy, iterations and certificate.
 *  Errors: NULL_POINTER, BAD_SIZE, BUFFER_TOO_SMALL, INVALID_K, INVALID_EPSILON. */
int ualign_solve_prepared(const ualign_prepared *pop, uint32_t k, float epsilon,
                          uint32_t max_iter, float *policy, size_t policy_len,
                          uint32_t *iterations, ualign_certificate *cert);

/** ualign_solve_warm on a prepared population: the same arguments after pop, the same checks
 *  and, bit for bit, the same policy, iterations and certificate.
 *  Errors: NULL_POINTER, BAD_SIZE, BUFFER_TOO_SMALL, INVALID_K, INVALID_EPSILON,
 *  INVALID_POLICY. */
int ualign_solve_prepared_warm(const ualign_prepared *pop, uint32_t k, float epsilon,
                               uint32_t max_iter, const float *start, size_t start_len,
                               float *policy, size_t policy_len, uint32_t *iterations,
                               ualign_certificate *cert);

/** ualign_certify on a prepared population: the exact certificate of showing k draws from
 *  policy (policy_len == n), bit for bit the same as ualign_certify's.
 *  Errors: NULL_POINTER, BAD_SIZE, INVALID_K, INVALID_POLICY. */
int ualign_certify_prepared(const ualign_prepared *pop, const float *policy, size_t policy_len,
                            uint32_t k, ualign_certificate *cert);

/** Releases a handle from ualign_prepared_new. NULL is a no-op. The handle must not be in use
 *  by another thread, and must not be used or freed again afterwards. */
void ualign_prepared_free(ualign_prepared *pop);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* UALIGN_H */
