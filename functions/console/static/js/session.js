// Who is signed in and which business number the console shows: GET /v1/me (name,
// roles, numbers); without it, the token's claims and GET /v1/tenants. The chosen
// number is remembered in localStorage.
import { api } from "./api.js";
import { tokenIdentity } from "./auth.js";

const NUMBER = "wacloud.console.number";

export const session = {
  name: "",
  roles: [],
  numbers: [],
  pnid: null,
  get isAdmin() {
    return this.roles.includes("admin");
  },
};

function label(n) {
  const parts = [n.display_phone_number, n.verified_name].filter(Boolean);
  return parts.length ? `${parts.join(" · ")}` : n.phone_number_id;
}

export function numberLabel(n) {
  return label(n);
}

export async function loadSession() {
  const fromToken = tokenIdentity();
  let me = null;
  try {
    me = await api.get("/v1/me");
  } catch {
    me = null;
  }
  session.name = (me && me.name) || fromToken.name || "";
  const groups = fromToken.groups || [];
  session.roles = (me && me.roles) || (groups.includes("admin") ? ["admin", "agent"] : groups);
  let numbers = (me && me.numbers) || [];
  if (!numbers.length) {
    try {
      const tenants = await api.get("/v1/tenants", { limit: 200 });
      numbers = (tenants.items || []).map((t) => ({
        phone_number_id: t.phone_number_id,
        display_phone_number: null,
        verified_name: null,
      }));
    } catch {
      numbers = [];
    }
  }
  session.numbers = numbers;
  const saved = localStorage.getItem(NUMBER);
  const known = numbers.find((n) => n.phone_number_id === saved);
  session.pnid = known ? saved : numbers.length ? numbers[0].phone_number_id : saved || null;
  return session;
}

export function chooseNumber(pnid) {
  session.pnid = pnid;
  localStorage.setItem(NUMBER, pnid);
}
