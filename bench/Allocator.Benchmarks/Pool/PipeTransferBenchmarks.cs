using System.Buffers;
using System.IO.Pipelines;
using Allocator.Buffers;
using BenchmarkDotNet.Attributes;

namespace Allocator.Benchmarks.Pool;

/// <summary>
/// 256 MiB from a writer task to a reader task through a <see cref="Pipe"/>, in 32 KiB writes, on
/// <c>MemoryPool&lt;byte&gt;.Shared</c> (the pipe's default, the baseline) and on <see cref="NativeMemoryPool.Shared"/>.
/// The writer fills each segment, the reader sums one byte per segment. Throughput is 256 MiB / Mean; the Gen
/// columns count GCs per 1000 transfers, Allocated is the GC heap bytes of one transfer.
/// </summary>
[MemoryDiagnoser]
public class PipeTransferBenchmarks
{
    private const long Total = 256L << 20;
    private const int Chunk = 32 * 1024;

    /// <summary>The pool the pipe rents its segments from.</summary>
    [Params("MemoryPool<byte>.Shared", "NativeMemoryPool.Shared")]
    public string Pool { get; set; } = "";

    [Benchmark(Description = "Pipe 256 MiB")]
    public async Task<long> Transfer()
    {
        MemoryPool<byte> pool = Pool == "NativeMemoryPool.Shared" ? NativeMemoryPool.Shared : MemoryPool<byte>.Shared;
        var pipe = new Pipe(new PipeOptions(pool: pool));
        Task writer = Task.Run(() => Write(pipe.Writer));
        Task<long> reader = Task.Run(() => Read(pipe.Reader));
        await writer;
        return await reader;
    }

    private static async Task Write(PipeWriter writer)
    {
        for (long written = 0; written < Total; written += Chunk)
        {
            writer.GetSpan(Chunk)[..Chunk].Fill((byte)(written >> 15));
            writer.Advance(Chunk);
            await writer.FlushAsync();
        }

        await writer.CompleteAsync();
    }

    private static async Task<long> Read(PipeReader reader)
    {
        long sum = 0;
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                sum += segment.Span[0];
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await reader.CompleteAsync();
                return sum;
            }
        }
    }
}
