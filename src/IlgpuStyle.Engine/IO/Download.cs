using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace IlgpuStyle.IO;

/// <summary>A download that did not give the file; the message is one line saying what happened and what to do.</summary>
public sealed class DownloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Bytes so far, the total where the server said it, and the rate of this session.</summary>
public readonly record struct DownloadProgress(long Done, long? Total, double BytesPerSecond);

/// <summary>
/// A file fetched over HTTP the way a user needs it on a slow or broken line: the bytes go to NAME.part beside the final
/// name, a later run resumes that part with a Range request, the MD5 is checked, and only a file that checks out is
/// renamed to its final name (a rename in one folder: nobody sees half a file under it). A partial file is never left
/// under the final name; a part whose checksum is wrong is removed.
/// </summary>
public static class Download
{
    /// <summary>Where the file will be while it downloads.</summary>
    public static string PartPath(string path) => path + ".part";

    /// <summary>
    /// Fetches <paramref name="url"/> to <paramref name="path"/> unless a file with the expected MD5 is already there.
    /// Returns true when it downloaded, false when the file was already there.
    /// </summary>
    public static bool Fetch(string url, string path, string md5, IProgress<DownloadProgress>? progress = null,
        HttpMessageHandler? handler = null, CancellationToken cancel = default)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DownloadException($"cannot create the folder '{dir}': {e.Message}", e);
        }
        if (File.Exists(path) && Md5(path) == md5) return false;

        string part = PartPath(path);
        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.Timeout = Timeout.InfiniteTimeSpan;   // a large file on a slow line; a stalled read fails by the read timeout below
        for (int attempt = 0; ; attempt++)
        {
            long have = File.Exists(part) ? new FileInfo(part).Length : 0;
            var outcome = FetchInto(http, url, part, have, progress, cancel);
            if (outcome == Outcome.Restart && attempt == 0)
            {
                File.Delete(part);
                continue;
            }
            break;
        }
        string got = Md5(part);
        if (got != md5)
        {
            long bytes = new FileInfo(part).Length;
            File.Delete(part);
            throw new DownloadException($"the file from {url} does not check out: MD5 {got}, expected {md5} ({bytes:N0} bytes); " +
                                        "it was removed, nothing was written under the final name");
        }
        try { File.Move(part, path, overwrite: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DownloadException($"downloaded to '{part}' but cannot rename it to '{path}': {e.Message}", e);
        }
        return true;
    }

    enum Outcome { Complete, Restart }

    static Outcome FetchInto(HttpClient http, string url, string part, long have, IProgress<DownloadProgress>? progress, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        string host = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Authority : url;
        try { response = http.Send(request, HttpCompletionOption.ResponseHeadersRead, cancel); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            throw new DownloadException($"cannot reach {host} ({Inner(e)}): no network? Fetch {url} on a machine that has one, " +
                                        $"and copy it to '{Path.GetDirectoryName(Path.GetFullPath(part))}' (or give --url a mirror)", e);
        }
        catch (InvalidOperationException e)
        {
            throw new DownloadException($"'{url}' is not an address to download from ({e.Message})", e);
        }
        using (response)
        {
            // A part that is already whole: the server has nothing after it. Check it as it is.
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0) return Outcome.Complete;
            if (!response.IsSuccessStatusCode)
                throw new DownloadException($"{host} answered {(int)response.StatusCode} {response.ReasonPhrase} for {url}");
            bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
            if (resumed && response.Content.Headers.ContentRange?.From != have) return Outcome.Restart;
            long start = resumed ? have : 0;
            long? total = response.Content.Headers.ContentLength is { } length ? start + length : null;
            var clock = Stopwatch.StartNew();
            long done = start;
            try
            {
                using var body = response.Content.ReadAsStream(cancel);
                using var file = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None);
                var buffer = new byte[1 << 20];
                long reported = -1;
                for (int n; (n = ReadWithTimeout(body, buffer, cancel)) > 0;)
                {
                    file.Write(buffer, 0, n);
                    done += n;
                    if (done - reported >= 1 << 20 || done == total)
                    {
                        progress?.Report(new DownloadProgress(done, total, (done - start) / Math.Max(1e-3, clock.Elapsed.TotalSeconds)));
                        reported = done;
                    }
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancel.IsCancellationRequested)
            {
                throw new DownloadException($"the connection to {host} broke after {done:N0}{(total is { } t ? $" of {t:N0}" : "")} bytes " +
                                            $"({Inner(e)}); run the same command again to resume from '{part}'", e);
            }
            if (total is { } expected && done < expected)
                throw new DownloadException($"the connection to {host} ended after {done:N0} of {expected:N0} bytes; run the same command again to resume from '{part}'");
            return Outcome.Complete;
        }
    }

    /// <summary>A read that gives up after a minute without a byte (a stalled connection is a broken one).</summary>
    static int ReadWithTimeout(Stream body, byte[] buffer, CancellationToken cancel)
    {
        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stalled.CancelAfter(TimeSpan.FromMinutes(1));
        try { return body.ReadAsync(buffer, stalled.Token).AsTask().GetAwaiter().GetResult(); }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { throw new IOException("no data for a minute"); }
    }

    static string Inner(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message.TrimEnd('.');
    }

    /// <summary>The file's MD5 as 32 lower-case hex digits (what Keras's get_file checks).</summary>
    public static string Md5(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    /// <summary>The file's SHA-256 as 64 lower-case hex digits (torch hub names its files by its first 8).</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
