using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit;

namespace Allocator.Tests.Heap;

/// <summary>
/// Several threads allocate blocks of random sizes, fill them, and hand them to each other through queues; the
/// receiving thread checks the contents and frees them, so most frees cross threads.
/// </summary>
/// <remarks>
/// Runs for <c>ALLOCATOR_SOAK_SECONDS</c> seconds (default 4) — set it higher for a soak run (see README).
/// </remarks>
[Collection(StatisticsCollection.Name)]
public unsafe class ConcurrencyStressTests
{
    private const int Threads = 4;

    private static double Seconds =>
        double.TryParse(Environment.GetEnvironmentVariable("ALLOCATOR_SOAK_SECONDS"), out double s) && s > 0 ? s : 4;

    private readonly record struct Handoff(nint Pointer, int Size, byte Seed);

    private static byte Pattern(byte seed, int i) => (byte)(seed ^ (i * 7) ^ (i >> 9));

    [Fact]
    public void BlocksHandedBetweenThreadsKeepTheirContents()
    {
        long baseLive = NativeAllocator.GetStatistics().LiveBlocks;
        var queues = Enumerable.Range(0, Threads).Select(_ => new ConcurrentQueue<Handoff>()).ToArray();
        var errors = new ConcurrentQueue<string>();
        var stopwatch = Stopwatch.StartNew();
        TimeSpan duration = TimeSpan.FromSeconds(Seconds);
        long operations = 0;

        void Worker(int id)
        {
            var random = new Random(id * 7919 + 1);
            var own = new List<Handoff>();
            long ops = 0;
            try
            {
                while (stopwatch.Elapsed < duration)
                {
                    for (int step = 0; step < 256; step++, ops++)
                    {
                        int choice = random.Next(100);
                        if (choice < 45)
                        {
                            int size = random.Next(100) switch
                            {
                                < 80 => random.Next(0, 1025),
                                < 97 => random.Next(1025, 128 * 1024),
                                _ => random.Next(128 * 1024, 2 << 20),
                            };
                            byte seed = (byte)random.Next(256);
                            byte* p = (byte*)(random.Next(4) == 0 ? NativeAllocator.AllocZeroed((nuint)size) : NativeAllocator.Alloc((nuint)size));
                            for (int i = 0; i < size; i++)
                            {
                                p[i] = Pattern(seed, i);
                            }

                            var block = new Handoff((nint)p, size, seed);
                            if (random.Next(3) == 0)
                            {
                                own.Add(block);
                            }
                            else
                            {
                                queues[random.Next(Threads)].Enqueue(block);
                            }
                        }
                        else if (choice < 90)
                        {
                            if (queues[id].TryDequeue(out Handoff block))
                            {
                                Release(block);
                            }
                        }
                        else if (own.Count > 0)
                        {
                            int k = random.Next(own.Count);
                            Release(own[k]);
                            own[k] = own[^1];
                            own.RemoveAt(own.Count - 1);
                        }
                    }
                }

                foreach (Handoff block in own)
                {
                    Release(block);
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e.ToString());
            }

            Interlocked.Add(ref operations, ops);
        }

        void Release(Handoff block)
        {
            byte* p = (byte*)block.Pointer;
            for (int i = 0; i < block.Size; i++)
            {
                if (p[i] != Pattern(block.Seed, i))
                {
                    errors.Enqueue($"block of {block.Size} bytes at {block.Pointer:x}: byte {i} changed");
                    break;
                }
            }

            NativeAllocator.Free(p);
        }

        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() => Worker(i))).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        // Whatever is still queued was handed over but not yet received: check and free it here.
        foreach (ConcurrentQueue<Handoff> queue in queues)
        {
            while (queue.TryDequeue(out Handoff block))
            {
                Release(block);
            }
        }

        Assert.Empty(errors);
        Assert.True(operations > 10_000, $"only {operations} operations ran");
        Assert.Equal(baseLive, NativeAllocator.GetStatistics().LiveBlocks);
        BadInputTests.AssertAllocatorWorks();
    }

    [Fact]
    public void ProducerConsumerReusesBlocksFreedByTheConsumer()
    {
        // Every free happens on the consumer thread. The producer must find those blocks again (through its pages'
        // thread-free lists, including pages it had set aside as full), so memory stays bounded by what is in flight.
        NativeAllocator.Collect(true);
        long committedBefore = NativeAllocator.GetStatistics().BytesCommitted;
        const int total = 2_000_000;
        const int inFlight = 20_000;
        var queue = new BlockingCollection<nint>(inFlight);
        long maxCommitted = 0;
        var producer = new Thread(() =>
        {
            for (int i = 0; i < total; i++)
            {
                int size = 16 + (i % 7) * 24;
                byte* p = (byte*)NativeAllocator.Alloc((nuint)size);
                p[0] = (byte)size;
                queue.Add((nint)p);
                if (i % 100_000 == 0)
                {
                    maxCommitted = Math.Max(maxCommitted, NativeAllocator.GetStatistics().BytesCommitted);
                }
            }

            queue.CompleteAdding();
        });
        long bad = 0;
        var consumer = new Thread(() =>
        {
            foreach (nint p in queue.GetConsumingEnumerable())
            {
                byte size = *(byte*)p;
                if (size < 16 || (size - 16) % 24 != 0)
                {
                    bad++;
                }

                NativeAllocator.Free((void*)p);
            }
        });
        producer.Start();
        consumer.Start();
        producer.Join();
        consumer.Join();
        Assert.Equal(0, bad);

        // 20,000 blocks of at most 160 bytes in flight is about 3 MiB; allow pages and segments around it.
        long grown = maxCommitted - committedBefore;
        Assert.True(grown < 32 << 20, $"committed memory grew by {grown >> 20} MiB for about 3 MiB in flight");
    }
}
