# The reference implementation of the seed-to-schedule mapping documented
# in stepper/prng.h and stepper/strategy.c, written independently of the C
# code. It wrote tests/golden/seeds.txt: run it from the top of the tree.
M=(1<<64)-1
def splitmix(x):
    x=(x+0x9e3779b97f4a7c15)&M; z=x
    z=((z^(z>>30))*0xbf58476d1ce4e5b9)&M
    z=((z^(z>>27))*0x94d049bb133111eb)&M
    return x, z^(z>>31)
def rotl(x,k): return ((x<<k)|(x>>(64-k)))&M
class R:
    def __init__(s,seed):
        x=seed; s.s=[]
        for i in range(4):
            x,z=splitmix(x); s.s.append(z)
    def next(s):
        a=s.s; r=(rotl((a[1]*5)&M,7)*9)&M; t=(a[1]<<17)&M
        a[2]^=a[0]; a[3]^=a[1]; a[1]^=a[2]; a[0]^=a[3]; a[2]^=t; a[3]=rotl(a[3],45); return r
    def below(s,n):
        m=s.next()*n; low=m&M
        if low<n:
            th=((1<<64)-n)%n
            while low<th:
                m=s.next()*n; low=m&M
        return m>>64
threads=[("writer",["lock","read","write","unlock"]),("reader",["lock","read","unlock"]),("flusher",["poll","flush"])]
out=[]
for seed in range(1,6):
    r=R(seed); left=[len(o) for _,o in threads]; total=sum(left); out.append("seed %d"%seed); out.append("====")
    while total:
        x=r.below(total); i=0
        while x>=left[i]: x-=left[i]; i+=1
        name,o=threads[i]; out.append("[%s] %s"%(name,o[len(o)-left[i]])); left[i]-=1; total-=1
    out.append("====")
open("tests/golden/seeds.txt","w").write("\n".join(out)+"\n")
