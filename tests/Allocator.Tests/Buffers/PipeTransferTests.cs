using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Allocator.Buffers;
using Xunit;
using Xunit.Abstractions;

namespace Allocator.Tests.Buffers;

/// <summary>
/// System.IO.Pipelines on native memory: a <see cref="Pipe"/> with <c>new PipeOptions(pool: NativeMemoryPool.Shared)</c>
/// moves 256 MiB from a writer task to a reader task. Every segment must come from the pool (a
/// <see cref="NativeMemoryOwner{T}"/>, never a managed array), the contents must arrive intact, and the GC heap
/// must grow by less than 1% of the bytes moved. Runs alone (the statistics collection), so the process-wide
/// allocation count is this test's.
/// </summary>
[Collection(StatisticsCollection.Name)]
public class PipeTransferTests(ITestOutputHelper output) : PoolTestBase
{
    private const long Total = 256L << 20;
    private const int Chunk = 32 * 1024;

    private static bool FromPool(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetMemoryManager<byte, NativeMemoryOwner<byte>>(memory, out _) && !MemoryMarshal.TryGetArray(memory, out _);

    private static async Task<long> WriteAll(PipeWriter writer)
    {
        long position = 0, foreign = 0;
        while (position < Total)
        {
            Memory<byte> memory = writer.GetMemory(Chunk);
            foreign += FromPool(memory) ? 0 : 1;
            int count = (int)Math.Min(memory.Length, Total - position);
            PositionPattern.Fill(memory.Span[..count], position);
            writer.Advance(count);
            position += count;
            await writer.FlushAsync();
        }

        await writer.CompleteAsync();
        return foreign;
    }

    private static async Task<(long Read, long Foreign, long Mismatch)> ReadAll(PipeReader reader)
    {
        long position = 0, foreign = 0, mismatch = -1;
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                foreign += FromPool(segment) ? 0 : 1;
                if (mismatch < 0)
                {
                    mismatch = PositionPattern.FirstMismatch(segment.Span, position);
                }

                position += segment.Length;
            }

            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
        return (position, foreign, mismatch);
    }

    [Fact]
    public async Task TwoHundredFiftySixMiBCrossAPipeOnNativeMemory()
    {
        var pipe = new Pipe(new PipeOptions(pool: NativeMemoryPool.Shared));
        NativeMemoryPoolStatistics before = NativeMemoryPool.Shared.GetStatistics();
        long gcBefore = GC.GetTotalAllocatedBytes(precise: true);

        Task<long> writer = Task.Run(() => WriteAll(pipe.Writer));
        Task<(long Read, long Foreign, long Mismatch)> reader = Task.Run(() => ReadAll(pipe.Reader));
        long writerForeign = await writer;
        (long read, long readerForeign, long mismatch) = await reader;

        long gcBytes = GC.GetTotalAllocatedBytes(precise: true) - gcBefore;
        NativeMemoryPoolStatistics after = NativeMemoryPool.Shared.GetStatistics();
        Assert.Equal(Total, read);
        Assert.Equal(-1, mismatch);
        Assert.Equal(0, writerForeign);
        Assert.Equal(0, readerForeign);
        long rents = after.Rents - before.Rents;
        output.WriteLine($"{Total} bytes in {rents} rents from NativeMemoryPool.Shared; {gcBytes} bytes on the GC heap ({100.0 * gcBytes / Total:F4}%)");
        Assert.True(rents >= Total / (Chunk * 2), $"only {rents} rents from NativeMemoryPool.Shared for {Total} bytes");
        Assert.True(after.RentedBytes - before.RentedBytes >= Total);
        Assert.True(gcBytes < Total / 100, $"{gcBytes} bytes allocated on the GC heap to move {Total} bytes ({100.0 * gcBytes / Total:F3}%)");
    }
}
