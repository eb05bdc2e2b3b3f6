using System.Collections.Concurrent;

namespace Allocator.Benchmarks.Workloads;

/// <summary>xmalloc-test: producer threads allocate batches of small blocks, consumer threads free them, so every
/// free happens on a thread other than the allocating one.</summary>
public sealed class XmallocTest : Workload
{
    private const int MinSize = 1;
    private const int MaxSize = 64;
    private const int BatchSize = 100;
    private const int MaxBatchesInFlight = 64;
    private const int Blocks = 3_000_000;

    public override string Name => "xmalloc-test";

    public override string Scaling =>
        "mimalloc-bench `xmalloc-test -w N -t 5 -s 64`: blocks of 1-64 B allocated on one thread and freed on another. " +
        "The original runs for 5 s; here max(1, N/2) producers and the other threads as consumers move " +
        "3,000,000 x scale blocks in batches of 100, with at most 64 batches in flight.";

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        int producers = Math.Max(1, run.Threads / 2);
        int consumers = Math.Max(1, run.Threads - producers);
        int batchesPerProducer = Math.Max(1, run.Scaled(Blocks) / BatchSize / producers);
        var full = new ConcurrentQueue<Slot<TBlock>[]>();
        var empty = new ConcurrentQueue<Slot<TBlock>[]>();
        int inFlight = 0;
        int producersDone = 0;
        bool consumerFailed = false;

        ThreadGroup.Run(producers + consumers, t =>
        {
            if (t < producers)
            {
                try
                {
                    var rng = new FastRandom((ulong)(run.Seed + t));
                    for (int b = 0; b < batchesPerProducer; b++)
                    {
                        var spin = default(SpinWait);
                        while (Volatile.Read(ref inFlight) >= MaxBatchesInFlight && !Volatile.Read(ref consumerFailed))
                        {
                            spin.SpinOnce(sleep1Threshold: -1);
                        }

                        if (!empty.TryDequeue(out Slot<TBlock>[]? batch))
                        {
                            batch = new Slot<TBlock>[BatchSize];
                        }

                        for (int i = 0; i < batch.Length; i++)
                        {
                            Blocks<THeap, TBlock>.Fill(ref batch[i], rng.Between(MinSize, MaxSize), rng.NextTag());
                        }

                        Interlocked.Increment(ref inFlight);
                        full.Enqueue(batch);
                    }
                }
                finally
                {
                    Interlocked.Increment(ref producersDone);
                }

                return;
            }

            try
            {
                Consume();
            }
            catch
            {
                Volatile.Write(ref consumerFailed, true); // so producers stop waiting for room
                throw;
            }
        });

        return (long)producers * batchesPerProducer * BatchSize;

        void Consume()
        {
            var wait = default(SpinWait);
            while (true)
            {
                if (full.TryDequeue(out Slot<TBlock>[]? batch))
                {
                    Interlocked.Decrement(ref inFlight);
                    Blocks<THeap, TBlock>.ReleaseAll(batch);
                    empty.Enqueue(batch);
                    wait = default;
                }
                else if (Volatile.Read(ref producersDone) == producers && full.IsEmpty)
                {
                    return;
                }
                else
                {
                    wait.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
    }
}
