namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// mstress, mimalloc's test-stress: threads allocate power-of-two numbers of words (now and then 100-10,000
/// times more), free some at random, and swap blocks with a shared transfer array, so blocks migrate between
/// threads; all threads are re-created every iteration. Blocks carry their size and tag in their header, like
/// the original's cookie, because they travel without their slot; the XOR of every tag allocated and every tag
/// freed must come to zero, which catches an allocator that hands one address out twice.
/// </summary>
public sealed class MStress : Workload
{
    private const int Transfers = 1000;
    private const int Scale = 50;
    private const int Iterations = 25;
    private const int MaxItemShift = 5;
    private const int MaxRetainedShift = MaxItemShift + 2;
    private const int MaxSize = (1 << MaxRetainedShift) * 10_000 * sizeof(ulong);

    public override string Name => "mstress";

    public override string Scaling =>
        "mimalloc-bench `mstress N 50 25` (test-stress: THREADS=N, SCALE=50, ITER=25, 1,000 transfer slots). " +
        "Same parameters; ITER x scale iterations. Blocks are checked by pattern rather than written word by word.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        var transfer = new TBlock?[Transfers];
        long allocations = 0;
        ulong tags = 0;
        int iterations = run.Scaled(Iterations);
        var main = new FastRandom((ulong)run.Seed);
        for (int n = 0; n < iterations; n++)
        {
            int iteration = n;
            ThreadGroup.Run(run.Threads, t =>
            {
                ulong threadTags = 0;
                long done = Stress<THeap, TBlock>(transfer, t, new FastRandom((ulong)((iteration + 1) * 43 + t)), ref threadTags);
                Interlocked.Add(ref allocations, done);
                lock (transfer)
                {
                    tags ^= threadTags;
                }
            });

            for (int i = 0; i < Transfers; i++)
            {
                if (main.Chance(50) || n + 1 == iterations)
                {
                    Release<THeap, TBlock>(Interlocked.Exchange(ref transfer[i], default), ref tags);
                }
            }
        }

        if (tags != 0)
        {
            throw new BlockCorruptedException("mstress: the tags freed do not match the tags allocated");
        }

        return allocations;
    }

    private static long Stress<THeap, TBlock>(TBlock?[] transfer, int tid, FastRandom random, ref ulong tags)
        where THeap : Competitors.IBlockHeap<TBlock>
    {
        int allocs = 100 * Scale * (tid % 8 + 1);
        int retain = allocs / 2;
        long total = allocs + retain;
        var data = new TBlock?[allocs];
        int dataTop = 0;
        var retained = new TBlock?[retain];
        int retainTop = 0;
        while (allocs > 0 || retain > 0)
        {
            if (retain == 0 || (random.Chance(50) && allocs > 0))
            {
                allocs--;
                data[dataTop++] = AllocItems<THeap, TBlock>(1 << random.Below(MaxItemShift), ref random, ref tags);
            }
            else
            {
                retained[retainTop++] = AllocItems<THeap, TBlock>(1 << random.Below(MaxRetainedShift), ref random, ref tags);
                retain--;
            }

            if (random.Chance(66) && dataTop > 0)
            {
                int index = random.Below(dataTop);
                Release<THeap, TBlock>(data[index], ref tags);
                data[index] = default;
            }

            if (random.Chance(25) && dataTop > 0)
            {
                int index = random.Below(dataTop);
                data[index] = Interlocked.Exchange(ref transfer[random.Below(Transfers)], data[index]);
            }
        }

        for (int i = 0; i < retainTop; i++)
        {
            Release<THeap, TBlock>(retained[i], ref tags);
        }

        for (int i = 0; i < dataTop; i++)
        {
            Release<THeap, TBlock>(data[i], ref tags);
        }

        return total;
    }

    private static TBlock AllocItems<THeap, TBlock>(int items, ref FastRandom random, ref ulong tags)
        where THeap : Competitors.IBlockHeap<TBlock>
    {
        if (random.Chance(1))
        {
            items *= random.Chance(1) ? 10_000 : random.Chance(10) ? 1000 : 100;
        }

        if (items == 40)
        {
            items++; // As the original: pthreads uses this size for stack growth.
        }

        uint tag = random.NextTag();
        tags ^= tag;
        return Blocks<THeap, TBlock>.New(items * sizeof(ulong), tag);
    }

    private static void Release<THeap, TBlock>(TBlock? block, ref ulong tags) where THeap : Competitors.IBlockHeap<TBlock>
    {
        if (block is not null && !EqualityComparer<TBlock>.Default.Equals(block, default))
        {
            tags ^= Blocks<THeap, TBlock>.ReleaseSelfDescribed(block, MaxSize);
        }
    }
}
