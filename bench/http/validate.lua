-- wrk script: validate+touch with keep-alive, each request presenting the next of the seeded
-- sessions (round robin). Arguments after "--": <token file> <header name> <value prefix>.
--   Hourglass: tokens Authorization "Session "     express-session: tokens Cookie "sid="
local tokens = {}
local header, prefix
local i = 0

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then tokens[#tokens + 1] = line end
   end
   header, prefix = args[2], args[3] or ""
   -- Threads start at different offsets.
   i = math.random(#tokens)
end

function request()
   i = i % #tokens + 1
   return wrk.format("GET", wrk.path, { [header] = prefix .. tokens[i] })
end
