"""Reference values for test/unit/inference.test.ts and test/unit/projectability.test.ts (issue 11), computed
independently of src/stats with mpmath (50 digits). Usage: python3 scripts/stats-reference-mpmath.py (needs mpmath)."""
# Independent reference values (mpmath 1.3.0, 50 digits): Student t quantile by root-finding on the t CDF
# written through the regularized incomplete beta, beta quantiles by root-finding on betainc.
from mpmath import mp, mpf, betainc, findroot, sqrt, erfinv
mp.dps = 50
def tcdf(x, df):
    x = mpf(x); df = mpf(df)
    ib = betainc(df/2, mpf(1)/2, 0, df/(df+x*x), regularized=True)
    return 1 - ib/2 if x > 0 else ib/2
def tq(q, df): return findroot(lambda x: tcdf(x, df) - q, mpf(2))
def bq(q, a, b):
    lo, hi = mpf(0), mpf(1)
    for _ in range(200):
        m = (lo+hi)/2
        if betainc(a, b, 0, m, regularized=True) < q: lo = m
        else: hi = m
    return (lo+hi)/2
z = sqrt(2)*erfinv(mpf('0.95'))
def eff(means, n):
    k = len(means); p = sum(map(mpf, means))/k
    v = sum((mpf(x)-p)**2 for x in means)/(k-1)/k
    ne = p*(1-p)/v if 0 < p < 1 and v > 0 else mpf(k)
    ne = min(n, max(k, ne))
    ns = ne*(tq(mpf('0.975'), max(1, n-1))/tq(mpf('0.975'), max(1, k-1)))**2
    return p, v, ne, ns
def wilson(p, ns):
    d = 1 + z*z/ns; c = (p + z*z/(2*ns))/d; h = z*sqrt(p*(1-p)/ns + z*z/(4*ns*ns))/d
    return (0 if p <= 0 else c-h), (1 if p >= 1 else c+h)
m = [0.2, 0.5, 0.1, 0.4, 0.3]
p, v, ne, ns = eff(m, 40)
x = p*ns
print("KG CP", ne, ns, bq(mpf('0.025'), x, ns-x+1), bq(mpf('0.975'), x+1, ns-x))
print("t branch", p - tq(mpf('0.975'), 4)*sqrt(v), p + tq(mpf('0.975'), 4)*sqrt(v), "counts", p*ne, (1-p)*ne)
p, v, ne, ns = eff([1]*30, 120)
print("30x4 all ones: n*", ns, "wilson", wilson(p, ns))
cl = [[1,0,0],[0,0],[0],[0,0,0,0],[0,0],[1,1,0,0,0,0],[0,0,0]]
means = [mpf(sum(c))/len(c) for c in cl]; n = sum(len(c) for c in cl)
p, v, ne, ns = eff(means, n)
print("sparse", "p", p, "ne", ne, "counts", p*ne, "n*", ns, "wilson", wilson(p, ns))
p, v, ne, ns = eff([0,0,0], 6)
print("3 zero clusters n=6: n*", ns, wilson(p, ns))
from mpmath import ncdf
def levels(z0, a, k):
    e = sqrt(mpf(k)/(k-1))*tq(mpf('0.975'), k-1)
    f = lambda zq: ncdf(z0 + (z0+zq)/(1 - a*(z0+zq)))
    return f(-e), f(e)
print("levels 0 0 10", levels(0, 0, 10))
print("levels 0.1 0.05 20", levels(mpf('0.1'), mpf('0.05'), 20))
print("levels -0.2 -0.03 40", levels(mpf('-0.2'), mpf('-0.03'), 40))
