using System.Text.Json;

namespace Allocator.Inspect;

/// <summary><c>heap &lt;pid&gt;</c>: per size class, totals and fragmentation, the large blocks; <c>--png</c> draws the pages.</summary>
internal static class HeapCommand
{
    public static void Run(Command command, TextWriter output)
    {
        HeapReport report;
        using (TargetProcess target = TargetProcess.Attach(command.ProcessId))
        {
            report = HeapReader.Read(target);
        }

        if (command.PngPath is not null)
        {
            HeapPicture.Save(report, command.PngPath);
        }

        if (command.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, InspectJson.Output.HeapReport));
            return;
        }

        Write(report, output);
        if (command.PngPath is not null)
        {
            output.WriteLine($"picture: {command.PngPath}");
        }
    }

    private static void Write(HeapReport report, TextWriter output)
    {
        HeapTotals t = report.Totals;
        output.WriteLine($"process {report.ProcessId} ({report.ProcessName}): Allocator heap");
        output.WriteLine($"{"class",5} {"block",10} {"pages",6} {"live blocks",12} {"free blocks",12} {"thread-free",12} {"live bytes",12} {"free bytes",12}");
        foreach (SizeClassReport row in report.SizeClasses)
        {
            output.WriteLine($"{row.Class,5} {Format.Count(row.BlockSize) + " B",10} {row.Pages,6} {Format.Count(row.LiveBlocks),12} {Format.Count(row.FreeBlocks),12} {Format.Count(row.ThreadFreeBlocks),12} {Format.Bytes(row.LiveBytes),12} {Format.Bytes(row.FreeBytes),12}");
        }

        output.WriteLine($"{"total",5} {string.Empty,10} {t.Pages,6} {Format.Count(t.LiveBlocks),12} {Format.Count(t.FreeBlocks),12} {Format.Count(report.SizeClasses.Sum(r => r.ThreadFreeBlocks)),12} {Format.Bytes(t.ArenaLiveBytes),12} {Format.Bytes(report.SizeClasses.Sum(r => r.FreeBytes)),12}");
        output.WriteLine();
        output.WriteLine($"segments: {t.Segments} ({Format.Bytes(t.BytesReserved)} reserved, {Format.Bytes(t.BytesCommitted)} committed), thread heaps: {t.ThreadHeaps}, pages in use: {t.Pages} ({t.AbandonedPages} abandoned)");
        output.WriteLine($"arena: {Format.Bytes(t.ArenaLiveBytes)} live in {Format.Bytes(t.PageBytes)} of pages in use: fragmentation {Format.Percent(t.Fragmentation)}");
        output.WriteLine($"large: {t.LargeBlocks} blocks, {Format.Bytes(t.LargeBytes)}; cache {report.LargeCache.Count} ranges, {Format.Bytes(t.LargeCacheBytes)}");
        output.WriteLine($"in use: {Format.Bytes(t.BytesInUse)} ({Format.Count(t.BytesInUse)} bytes)");
        if (report.LargeBlocks.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("large blocks:");
            foreach (AddressRange block in report.LargeBlocks)
            {
                output.WriteLine($"  {Format.Address(block.Address)}  {Format.Bytes((long)block.Size),10}  ({Format.Count((long)block.Size)} bytes)");
            }
        }

        foreach (string warning in report.Warnings)
        {
            output.WriteLine($"warning: {warning}");
        }
    }
}
