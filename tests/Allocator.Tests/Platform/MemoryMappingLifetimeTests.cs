using System.Runtime.CompilerServices;
using Allocator.Mapping;
using Xunit;

namespace Allocator.Tests.Platform;

/// <summary>Dispose unmaps once, from any number of threads; use afterwards throws; a forgotten mapping is unmapped by its finalizer.</summary>
public sealed class MemoryMappingLifetimeTests
{
    private static readonly nuint s_page = MemoryMapping.PageSize;

    public static TheoryData<string> Uses() => new(s_usesAfterDispose.Keys);

    private static readonly Dictionary<string, Action<MemoryMapping>> s_usesAfterDispose = new()
    {
        ["Pointer"] = m => _ = m.Pointer,
        ["Length"] = m => _ = m.Length,
        ["Span"] = m => _ = m.Span.Length,
        ["GetSpan"] = m => _ = m.GetSpan(0, 1).Length,
        ["Protect"] = m => m.Protect(MappingProtection.Read),
        ["Protect range"] = m => m.Protect(0, s_page, MappingProtection.Read),
        ["Advise"] = m => m.Advise(MappingAdvice.WillNeed),
        ["Advise range"] = m => m.Advise(0, s_page, MappingAdvice.WillNeed),
        ["Flush"] = m => m.Flush(),
        ["Flush range"] = m => m.Flush(0, s_page),
        ["Name"] = m => m.Name("x"),
    };

    [Theory]
    [MemberData(nameof(Uses))]
    public void Any_use_after_Dispose_is_ObjectDisposedException(string use)
    {
        MemoryMapping mapping = MemoryMapping.CreateAnonymousShared(s_page);
        mapping.Dispose();

        Assert.Throws<ObjectDisposedException>(() => s_usesAfterDispose[use](mapping));
    }

    [Fact]
    public void Dispose_is_idempotent_and_ToString_never_throws()
    {
        MemoryMapping mapping = MemoryMapping.CreateAnonymousPrivate(s_page);
        string live = mapping.ToString();

        mapping.Dispose();
        mapping.Dispose();

        Assert.Contains("AnonymousPrivate 0x", live);
        Assert.Equal("MemoryMapping AnonymousPrivate (disposed)", mapping.ToString());
    }

    [Fact]
    public void Concurrent_Dispose_from_several_threads_unmaps_every_mapping_without_error()
    {
        // Shared anonymous mappings each have their own inode, so /proc/self/maps tells exactly which are still mapped.
        const int Mappings = 32;
        const int Threads = 4;
        var mappings = new MemoryMapping[Mappings];
        var inodes = new ulong[Mappings];
        for (int i = 0; i < Mappings; i++)
        {
            mappings[i] = MemoryMapping.CreateAnonymousShared(s_page);
            inodes[i] = ProcessMemoryMap.ReadCurrent().Find(mappings[i].Pointer)!.Inode;
        }

        using var barrier = new Barrier(Threads);
        var exceptions = new List<Exception>();
        var threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait();
                foreach (MemoryMapping m in mappings)
                {
                    m.Dispose();
                }
            }
            catch (Exception e)
            {
                lock (exceptions)
                {
                    exceptions.Add(e);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(exceptions);
        var stillMapped = ProcessMemoryMap.ReadCurrent().Regions.Where(r => r.IsShared && inodes.Contains(r.Inode)).ToList();
        Assert.Empty(stillMapped);
        Assert.All(mappings, m => Assert.Throws<ObjectDisposedException>(() => m.Pointer));
    }

    [Fact]
    public void A_mapping_that_is_never_disposed_is_unmapped_by_its_finalizer()
    {
        ulong inode = MapAndForget();
        Assert.Contains(ProcessMemoryMap.ReadCurrent().Regions, r => r.IsShared && r.Inode == inode);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.DoesNotContain(ProcessMemoryMap.ReadCurrent().Regions, r => r.IsShared && r.Inode == inode);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong MapAndForget()
    {
        MemoryMapping mapping = MemoryMapping.CreateAnonymousShared(s_page);
        mapping.Span[0] = 1;
        return ProcessMemoryMap.ReadCurrent().Find(mapping.Pointer)!.Inode;
    }
}
