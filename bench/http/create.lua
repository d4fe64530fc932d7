-- wrk script: session creation, a different user for every request.
-- Argument after "--": the JSON field set to "admin" or "storefront" (area), default storefront.
local n = 0
local area = "storefront"

function init(args)
   if args[1] then area = args[1] end
   n = math.random(1000000000)
end

function request()
   n = n + 1
   local body = '{"user":"bench-' .. n .. '@example.com","area":"' .. area ..
      '","client_ip":"10.1.' .. (n % 250) .. '.' .. (n % 199) .. '","user_agent":"wrk"}'
   return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
