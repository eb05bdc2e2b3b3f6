using System.Runtime.InteropServices;
using Allocator.Heap;
using Microsoft.Diagnostics.Runtime;

namespace Allocator.Inspect;

/// <summary>
/// Reads the allocator's state out of a suspended target: the statics of <c>Allocator.Heap.Arena</c>,
/// <c>LargeBlocks</c> and <c>SizeClasses</c> through ClrMD, then the segment headers and page descriptors from
/// native memory, walking each page's free list and thread-free list (bounded by the page's block count).
/// </summary>
/// <remarks>
/// <para>The native layouts are the library's own <see cref="Segment"/> and <see cref="Page"/> structs (the
/// inspector is built against the same library), so the layout is written down once.</para>
/// <para>Per page: live = Used − |thread-free list| (Used counts remote frees only when they are collected), and
/// free = Reserved − live, which is how <c>NativeAllocator.GetStatistics()</c> counts them too. As a check, the
/// local free list must hold Capacity − Used blocks; a page where it does not is named in the warnings.</para>
/// </remarks>
internal static unsafe class HeapReader
{
    private const string ArenaType = "Allocator.Heap.Arena";
    private const string LargeBlocksType = "Allocator.Heap.LargeBlocks";
    private const string SizeClassesType = "Allocator.Heap.SizeClasses";

    // Far more segments than a 47-bit address space holds: a bound for walking a list that may be corrupt.
    private const int MaxSegments = 1 << 25;

    /// <summary>Bytes of the allocator's segment map (one byte per 4 MiB of the address space).</summary>
    public const ulong SegmentMapBytes = SegmentMap.Chunks;

    /// <summary>The address of the allocator's segment map in <paramref name="target"/>, or null before the allocator was used.</summary>
    /// <param name="target">An attached process.</param>
    /// <returns>The address, or null.</returns>
    public static ulong? SegmentMapAddress(TargetProcess target) =>
        target.LibraryType("Allocator.Heap.SegmentMap") is ClrType map ? ReadStatic<ulong>(target, map, "s_shifts") : null;

    /// <summary>The allocator's state in <paramref name="target"/>.</summary>
    /// <param name="target">An attached process.</param>
    /// <returns>The report.</returns>
    public static HeapReport Read(TargetProcess target)
    {
        var warnings = new List<string>();
        ClrType? arena = target.LibraryType(ArenaType);
        ClrType? large = target.LibraryType(LargeBlocksType);
        ClrType? classes = target.LibraryType(SizeClassesType);
        uint[] sizes = classes is null ? [] : ReadArray<uint>(target, classes, "Sizes");
        if (arena is null || sizes.Length == 0)
        {
            warnings.Add("the allocator has not been used in this process yet: no arena state");
        }

        var segments = new List<SegmentReport>();
        var rows = new ClassSums[Math.Max(sizes.Length, SizeClasses.Count)];
        int abandonedPages = 0;
        long segmentCount = 0, committed = 0, reserved = 0;
        int heaps = 0;
        if (arena is not null && sizes.Length != 0)
        {
            ulong abandonedHeap = ReadStatic<ulong>(target, arena, "AbandonedHeap");
            foreach (long head in ReadArray<long>(target, arena, "s_segments"))
            {
                int walked = 0;
                for (ulong s = (ulong)head; s != 0 && walked < MaxSegments; walked++)
                {
                    Segment header = target.Read<Segment>(s);
                    segments.Add(ReadSegment(target, s, header, rows, abandonedHeap, warnings, ref abandonedPages));
                    s = (ulong)header.Next;
                }
            }

            segmentCount = ReadStatic<long>(target, arena, "s_segmentCount");
            committed = ReadStatic<long>(target, arena, "s_committed");
            reserved = ReadStatic<long>(target, arena, "s_reserved");
            heaps = ReadListCount(target, arena, "s_heaps");
            if (segmentCount != segments.Count)
            {
                warnings.Add($"the arena counts {segmentCount} segments but its lists hold {segments.Count}");
            }
        }

        List<AddressRange> liveLarge = large is null ? [] : ReadLargeLive(target, large);
        List<AddressRange> cache = large is null ? [] : ReadLargeCache(target, large);
        segments.Sort((a, b) => a.Address.CompareTo(b.Address));

        var classRows = new List<SizeClassReport>();
        long liveBlocks = 0, freeBlocks = 0, liveBytes = 0, pageBytes = 0;
        int pages = 0;
        for (int c = 0; c < sizes.Length; c++)
        {
            ClassSums sum = rows[c];
            pageBytes += sum.AreaBytes;
            if (sum.Pages == 0)
            {
                continue;
            }

            long free = sum.Reserved - sum.Live;
            classRows.Add(new SizeClassReport(c, (int)sizes[c], sum.Pages, sum.Live, free, sum.ThreadFree, sum.Live * sizes[c], free * sizes[c]));
            liveBlocks += sum.Live;
            freeBlocks += free;
            liveBytes += sum.Live * sizes[c];
            pages += sum.Pages;
        }

        long largeBytes = liveLarge.Sum(r => (long)r.Size);
        var totals = new HeapTotals(
            Segments: segmentCount,
            ThreadHeaps: heaps,
            Pages: pages,
            AbandonedPages: abandonedPages,
            LiveBlocks: liveBlocks,
            FreeBlocks: freeBlocks,
            ArenaLiveBytes: liveBytes,
            PageBytes: pageBytes,
            Fragmentation: pageBytes == 0 ? 0 : 1 - ((double)liveBytes / pageBytes),
            LargeBlocks: liveLarge.Count,
            LargeBytes: largeBytes,
            LargeCacheBytes: cache.Sum(r => (long)r.Size),
            BytesInUse: liveBytes + largeBytes,
            BytesCommitted: committed,
            BytesReserved: reserved);
        return new HeapReport(target.ProcessId, target.Name, classRows, totals, liveLarge, cache, segments, warnings);
    }

    private struct ClassSums
    {
        public int Pages;
        public long Live;
        public long Reserved;
        public long ThreadFree;
        public long AreaBytes;
    }

    private static SegmentReport ReadSegment(TargetProcess target, ulong address, in Segment header, ClassSums[] rows, ulong abandonedHeap, List<string> warnings, ref int abandonedPages)
    {
        if (header.PageCount is <= 0 or > Segment.MaxPages || header.PageShift is not (Segment.SmallPageShift or Segment.MediumPageShift or Segment.LargePageShift))
        {
            throw new InspectException(InspectException.Unreadable, $"segment 0x{address:x} has an unknown layout (page shift {header.PageShift}, {header.PageCount} pages): is the target built with another version of the library?");
        }

        var descriptors = new Page[header.PageCount];
        if (!target.TryRead(address + Segment.PagesOffset, MemoryMarshal.AsBytes(descriptors.AsSpan())))
        {
            throw new InspectException(InspectException.Unreadable, $"cannot read the page descriptors of segment 0x{address:x}");
        }

        var pages = new PageReport[header.PageCount];
        for (int i = 0; i < pages.Length; i++)
        {
            ref Page page = ref descriptors[i];
            bool usable = (header.UsableMask & (1UL << i)) != 0;
            bool inUse = usable && (header.FreeMask & (1UL << i)) == 0 && page.SizeClass >= 0 && page.SizeClass < rows.Length;
            if (!inUse)
            {
                pages[i] = new PageReport(i, usable ? "free" : "header", 0, 0, 0, 0);
                continue;
            }

            byte[] carved = ReadCarved(target, page);
            int threadFree = CountList(target, carved, (ulong)Page.ThreadFreeHead(page.ThreadFree), page, address, i, "thread-free", warnings);
            int localFree = CountList(target, carved, (ulong)page.Free, page, address, i, "free", warnings);
            if (localFree != page.Capacity - page.Used)
            {
                warnings.Add($"segment 0x{address:x} page {i}: the free list holds {localFree} blocks, but capacity − used is {page.Capacity - page.Used} (memory changed while reading?)");
            }

            int live = page.Used - threadFree;
            bool abandoned = (ulong)page.Heap == abandonedHeap;
            abandonedPages += abandoned ? 1 : 0;
            ref ClassSums sum = ref rows[page.SizeClass];
            sum.Pages++;
            sum.Live += live;
            sum.Reserved += page.Reserved;
            sum.ThreadFree += threadFree;
            sum.AreaBytes += (long)page.AreaSize;
            pages[i] = new PageReport(i, abandoned ? "abandoned" : "used", (int)page.BlockSize, live, page.Reserved, threadFree);
        }

        return new SegmentReport(address, 1 << header.PageShift, pages);
    }

    /// <summary>
    /// The length of a free list in the target that starts at <paramref name="head"/>: every link must be the start of
    /// a carved block of the page, and the walk stops after Capacity links (a longer list is a cycle or a torn read).
    /// </summary>
    private static int CountList(TargetProcess target, byte[] carved, ulong head, in Page page, ulong segment, int index, string list, List<string> warnings)
    {
        ulong start = (ulong)page.Start;
        ulong end = start + ((ulong)(uint)page.Capacity * page.BlockSize);
        int count = 0;
        for (ulong b = head; b != 0; count++)
        {
            if (count >= page.Capacity || b < start || b >= end || (b - start) % page.BlockSize != 0)
            {
                warnings.Add($"segment 0x{segment:x} page {index}: the {list} list leaves the page's carved blocks after {count} links (memory changed while reading?)");
                break;
            }

            b = carved.Length != 0 ? MemoryMarshal.Read<ulong>(carved.AsSpan((int)(b - start))) : target.Read<ulong>(b);
        }

        return count;
    }

    /// <summary>
    /// The carved blocks of a page with small blocks, in one read (a list walk then costs no system call per link);
    /// empty for pages of large blocks, whose few links are read one by one, and for pages with no free block.
    /// </summary>
    private static byte[] ReadCarved(TargetProcess target, in Page page)
    {
        const uint BulkBlockSizeMax = 4096;
        if (page.BlockSize > BulkBlockSizeMax || (page.Free == null && page.ThreadFree == 0))
        {
            return [];
        }

        var bytes = new byte[(long)(uint)page.Capacity * page.BlockSize];
        return target.TryRead((ulong)page.Start, bytes) ? bytes : [];
    }

    /// <summary>The live large blocks: the entries of <c>LargeBlocks.s_live</c>, a Dictionary&lt;nuint, nuint&gt; (address → size).</summary>
    private static List<AddressRange> ReadLargeLive(TargetProcess target, ClrType large)
    {
        var result = new List<AddressRange>();
        ClrObject dictionary = ReadStaticObject(target, large, "s_live");
        ClrObject entries = dictionary.ReadObjectField("_entries");
        int count = dictionary.ReadField<int>("_count");
        if (!entries.IsNull)
        {
            ClrArray array = entries.AsArray();
            for (int i = 0; i < Math.Min(count, array.Length); i++)
            {
                // Used entries have next ≥ -1; entries on the dictionary's free list have next ≤ -2.
                ClrValueType entry = array.GetStructValue(i);
                if (entry.ReadField<int>("next") >= -1)
                {
                    result.Add(new AddressRange(entry.ReadField<ulong>("key"), entry.ReadField<ulong>("value")));
                }
            }
        }

        result.Sort((a, b) => a.Address.CompareTo(b.Address));
        return result;
    }

    /// <summary>The cached large ranges: the items of <c>LargeBlocks.s_cache</c>, a List&lt;CachedRange&gt; kept sorted.</summary>
    private static List<AddressRange> ReadLargeCache(TargetProcess target, ClrType large)
    {
        var result = new List<AddressRange>();
        ClrObject list = ReadStaticObject(target, large, "s_cache");
        ClrObject items = list.ReadObjectField("_items");
        int size = list.ReadField<int>("_size");
        if (!items.IsNull)
        {
            ClrArray array = items.AsArray();
            for (int i = 0; i < Math.Min(size, array.Length); i++)
            {
                ClrValueType range = array.GetStructValue(i);
                result.Add(new AddressRange(range.ReadField<ulong>("Address"), range.ReadField<ulong>("Size")));
            }
        }

        return result;
    }

    private static int ReadListCount(TargetProcess target, ClrType type, string field) => ReadStaticObject(target, type, field).ReadField<int>("_size");

    private static T[] ReadArray<T>(TargetProcess target, ClrType type, string field)
        where T : unmanaged
    {
        ClrObject array = ReadStaticObject(target, type, field);
        ClrArray values = array.AsArray();
        return values.ReadValues<T>(0, values.Length) ?? [];
    }

    private static ClrObject ReadStaticObject(TargetProcess target, ClrType type, string field)
    {
        ClrObject value = StaticField(type, field).ReadObject(target.Domain);
        if (value.IsNull || !value.IsValid)
        {
            throw new InspectException(InspectException.Unreadable, $"{type.Name}.{field} is not set in process {target.ProcessId}");
        }

        return value;
    }

    private static T ReadStatic<T>(TargetProcess target, ClrType type, string field)
        where T : unmanaged => StaticField(type, field).Read<T>(target.Domain);

    private static ClrStaticField StaticField(ClrType type, string field) =>
        type.GetStaticFieldByName(field)
        ?? throw new InspectException(InspectException.Unreadable, $"{type.Name} has no static field {field}: is the target built with another version of the library?");
}
