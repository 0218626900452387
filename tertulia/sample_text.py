"""Phrase bank of the sample community: what members of a Quito coffee roaster write, and what the
brand answers, in Spanish, English and a little Portuguese.

Templates are plain `str.format` strings with the slots {product}, {city}, {name}, {pos}, {neg} (emoji)
and {link}. The generator fills them from its seeded random source, so the bank stays data only.
The crisis and slow-burn templates carry the vocabulary the crisis signals look for (community.example.yml
`crisis.keywords`); everyday complaints avoid it on purpose, so the planted day stands out.
"""

from __future__ import annotations

PRODUCTS = (
    "Geisha Reserva",
    "Tostado Medio Loja",
    "Blend Tertulia",
    "Café de Intag",
    "Zaruma Honey",
    "cold brew",
    "capuchino de la casa",
    "prensa francesa",
)
CITIES = ("Guayaquil", "Cuenca", "Loja", "Ambato", "Manta", "Ibarra", "Riobamba", "Esmeraldas", "Latacunga")
POSITIVE_EMOJI = ("☕", "😍", "🙌", "❤️", "🔥", "👏", "✨", "🤎", "😋", "")
NEGATIVE_EMOJI = ("😡", "😤", "👎", "😞", "🤬", "😠", "")
SPAM_LINKS = ("bit.ly/gana-ya", "bit.ly/3xFreeFollow", "tinyurl.com/criptoec", "bit.ly/premio-ec")

# Member messages by language and kind.
MEMBER: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "praise"): (
        "¡Qué rico el {product}! {pos}",
        "El mejor café de Quito, sin duda {pos}",
        "Me encantó el {product}, ya voy por la segunda bolsa {pos}",
        "Excelente atención en el local de La Floresta {pos}",
        "Qué buena foto, ya se me antojó un café {pos}",
        "Recomendadísimo el {product} 👌",
        "Todas las mañanas con su café, gracias por tanto {pos}",
        "Increíble el aroma apenas abrí la bolsa {pos}",
        "Me regalaron el {product} y ahora soy fan {pos}",
        "Felicitaciones por el premio, se lo merecen {pos}",
    ),
    ("es", "question"): (
        "¿Tienen envíos a {city}?",
        "¿Cuánto cuesta el {product}?",
        "¿A qué hora abren los sábados?",
        "Hola, ¿el {product} viene en grano o molido?",
        "¿Hacen envíos a {city}? ¿Cuánto se demora?",
        "¿Dónde puedo comprar el {product} en {city}?",
        "¿Tienen descafeinado?",
        "¿Aceptan pagos con transferencia?",
        "¿Hay cupo para el taller de barismo de este mes?",
        "¿Qué molienda me recomiendan para prensa francesa?",
    ),
    ("es", "complaint"): (
        "Mi pedido lleva una semana y no llega {neg}",
        "El {product} llegó molido y lo pedí en grano {neg}",
        "Pésima atención hoy en el local, nadie nos atendió {neg}",
        "El envío a {city} salió carísimo {neg}",
        "Escribí por inbox hace dos días y nadie responde {neg}",
        "La bolsa llegó abierta, qué decepción {neg}",
        "El café estaba frío y tardaron 40 minutos {neg}",
        "No me llegó la factura de mi compra",
    ),
    ("es", "other"): (
        "@{name} mira esto",
        "Jajaja yo todos los lunes",
        "Ya quiero ir el fin de semana",
        "Interesante, no sabía eso del tueste",
        "Saludos desde {city}",
        "Primera vez que veo este café",
    ),
    ("en", "praise"): (
        "Best coffee in Quito, hands down {pos}",
        "The {product} is amazing {pos}",
        "Loved the cupping session last weekend {pos}",
        "Bought a bag of {product} for my trip home, everyone loved it {pos}",
        "Great vibes and great coffee at the café {pos}",
        "This looks so good {pos}",
        "Your baristas are the nicest {pos}",
    ),
    ("en", "question"): (
        "Do you ship to the US?",
        "Is the {product} available in whole bean?",
        "What time do you open on Sundays?",
        "Do you ship to {city}? How long does it take?",
        "How much is the {product}?",
        "Can I book the coffee tour in English?",
        "Do you have decaf?",
    ),
    ("en", "complaint"): (
        "My order still hasn't arrived after a week {neg}",
        "The bag arrived open, very disappointed {neg}",
        "Waited 30 minutes for a latte today {neg}",
        "Shipping costs are way too high {neg}",
        "I sent you a message two days ago and no answer {neg}",
        "Got ground coffee instead of whole bean {neg}",
    ),
    ("en", "other"): (
        "@{name} we should go",
        "Saving this for later",
        "First time seeing this brand",
        "Greetings from {city}",
    ),
    ("pt", "praise"): (
        "Que café delicioso! {pos}",
        "Provei o {product} em Quito e amei {pos}",
    ),
    ("pt", "question"): (
        "Vocês enviam para o Brasil?",
        "Quanto custa o {product}?",
    ),
    ("pt", "complaint"): ("Meu pedido ainda não chegou {neg}",),
    ("pt", "other"): ("Olá de São Paulo!",),
    ("es", "spam"): (
        "Gana dinero rápido 👉 {link}",
        "Sorteo de iPhone, entra aquí 👉 {link}",
        "Invierte 50 y gana 500 en una semana 💸 {link}",
    ),
    ("en", "spam"): (
        "Free followers here 🔥 {link}",
        "Make $500 a day from home 👉 {link}",
        "DM me for a collab 💰 {link}",
    ),
    ("pt", "spam"): ("Ganhe dinheiro fácil 👉 {link}",),
    # A member writing again before anyone answered.
    ("es", "nudge"): ("¿Hola? ¿Alguien?", "Sigo esperando respuesta", "Por favor, es urgente", "?"),
    ("en", "nudge"): ("Hello? Anyone?", "Still waiting for an answer", "Please, it's urgent", "?"),
    ("pt", "nudge"): ("Olá? Alguém?",),
    # A member thanking after the brand answered.
    ("es", "thanks"): ("¡Gracias! {pos}", "Perfecto, muchas gracias", "Listo, gracias por la ayuda {pos}"),
    ("en", "thanks"): ("Thank you! {pos}", "Perfect, thanks", "Great, thanks for the help {pos}"),
    ("pt", "thanks"): ("Obrigado! {pos}",),
    # Another member chiming in on someone's thread.
    ("es", "chime"): ("Yo también quiero saber", "Totalmente de acuerdo", "Sí, a mí me pasó igual", "+1"),
    ("en", "chime"): ("Same question here", "Totally agree", "Same thing happened to me", "+1"),
    ("pt", "chime"): ("Também quero saber",),
    # The planted crisis: glass fragments in a bag of Geisha Reserva.
    ("es", "crisis"): (
        "Encontré pedazos de VIDRIO en mi bolsa de Geisha Reserva {neg} ¿Qué les pasa?",
        "Vidrio en el café, mi hijo casi se lo toma. Exijo reembolso ya {neg}",
        "Esto es una estafa y un peligro, voy a poner una denuncia {neg}",
        "Compré el Geisha Reserva y tenía fragmentos de vidrio. Nadie responde {neg}",
        "Mi esposo tuvo síntomas de intoxicación después de tomar su café {neg}",
        "¿Van a retirar el lote? Hay vidrio en las bolsas {neg}",
        "Quiero mi reembolso, esto es inaceptable {neg}",
        "Ya lo compartí en todos los grupos, no compren Geisha Reserva, tiene vidrio {neg}",
        "Estafa total, un café de lujo con vidrio adentro {neg}",
        "Denuncia presentada en la ARCSA. Vidrio en el Geisha Reserva {neg}",
        "Qué vergüenza, llevo años comprándoles y ahora esto {neg}",
        "Nos sentimos intoxicados, ¿quién responde por esto? {neg}",
    ),
    ("en", "crisis"): (
        "Found GLASS in my bag of Geisha Reserva {neg} This is dangerous",
        "I want a refund now, there was glass in my coffee {neg}",
        "Is there a recall on the Geisha Reserva? Glass fragments in mine {neg}",
        "This is a scam, charging premium prices for coffee with glass in it {neg}",
        "Reporting this to the authorities, glass in the coffee {neg}",
        "Do not buy the Geisha Reserva, glass inside, demand a refund {neg}",
    ),
    ("pt", "crisis"): ("Vidro no café Geisha Reserva?! Quero reembolso {neg}",),
    # Slow burn: a price increase that members like less each day.
    ("es", "price"): (
        "¿Otra vez subieron el precio? {neg}",
        "El {product} está carísimo ahora, así no {neg}",
        "Subieron 30 % el precio y la bolsa es más pequeña {neg}",
        "Antes era mi café de siempre, con estos precios ya no {neg}",
        "Qué abuso el nuevo precio {neg}",
        "Me cambio de marca, demasiado caro {neg}",
    ),
    ("en", "price"): (
        "Another price increase? {neg}",
        "The {product} is way too expensive now {neg}",
        "Smaller bag, higher price, not cool {neg}",
        "Used to be my daily coffee, not at these prices {neg}",
    ),
    ("pt", "price"): ("Muito caro agora {neg}",),
}

# Messages a member writes in a review (channel review), by language and stars.
REVIEW: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "praise"): (
        "⭐⭐⭐⭐⭐ El mejor café de especialidad de Quito",
        "⭐⭐⭐⭐⭐ Atención de primera y café delicioso",
    ),
    ("es", "complaint"): ("⭐⭐ Buen café pero el servicio muy lento", "⭐ Pedí a domicilio y nunca llegó"),
    ("en", "praise"): (
        "⭐⭐⭐⭐⭐ Must visit in Quito for coffee lovers",
        "⭐⭐⭐⭐ Great coffee, a bit pricey",
    ),
    ("en", "complaint"): ("⭐⭐ Coffee was fine, service was slow",),
    ("pt", "praise"): ("⭐⭐⭐⭐⭐ Café maravilhoso",),
    ("pt", "complaint"): ("⭐⭐ Atendimento demorado",),
}

# What the brand answers, by language and the kind of message answered.
BRAND: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "praise"): (
        "¡Gracias {name}! ☕🤎",
        "¡Qué alegría leerte! Te esperamos pronto ☕",
        "¡Gracias por acompañarnos! 🙌",
    ),
    ("es", "question"): (
        "¡Hola {name}! Sí, enviamos a todo el Ecuador en 24-48 h. Te escribimos por DM con los detalles ☕",
        "Hola {name}, abrimos de lunes a viernes de 8:00 a 20:00 y sábados de 9:00 a 15:00 ☕",
        "¡Hola! Lo tenemos en grano y molido, en bolsas de 250 g y 500 g.",
        "Hola {name}, te enviamos la información por mensaje directo 🙌",
    ),
    ("es", "complaint"): (
        "Hola {name}, lamentamos mucho lo ocurrido. ¿Nos escribes por DM tu número de pedido para resolverlo hoy?",
        "{name}, tienes toda la razón y lo sentimos. Ya lo revisamos con el equipo de envíos.",
        "Qué pena, {name}. Te contactamos por mensaje directo para compensarte.",
    ),
    ("es", "other"): ("☕🤎", "¡Saludos {name}!"),
    ("es", "crisis"): (
        "{name}, lo sentimos muchísimo. Retiramos el lote de Geisha Reserva y te contactamos por DM para el reembolso.",
        "Hola {name}, estamos investigando con urgencia. Por favor no consumas el producto y escríbenos por DM.",
    ),
    ("es", "price"): (
        "Hola {name}, entendemos tu molestia. El precio del café verde subió este año; te escribimos por DM.",
    ),
    ("es", "thanks"): ("¡A ti! ☕",),
    ("es", "nudge"): ("Disculpa la demora {name}, ya te respondemos.",),
    ("en", "praise"): ("Thank you {name}! ☕🤎", "So glad you enjoyed it! See you soon ☕"),
    ("en", "question"): (
        "Hi {name}! Yes, we ship within Ecuador in 24-48 h; international shipping via DM ☕",
        "Hi {name}, we're open Mon-Fri 8:00-20:00 and Sat 9:00-15:00.",
        "Hi! It comes in whole bean and ground, 250 g and 500 g bags.",
    ),
    ("en", "complaint"): (
        "Hi {name}, we're so sorry. Could you DM us your order number so we can fix it today?",
        "{name}, you're right and we apologise. We're checking with our shipping team.",
    ),
    ("en", "other"): ("☕🤎",),
    ("en", "crisis"): (
        "{name}, we are deeply sorry. We've pulled the Geisha Reserva batch and will DM you about a refund.",
        "Hi {name}, we're investigating urgently. Please don't drink it and DM us.",
    ),
    ("en", "price"): ("Hi {name}, we hear you. Green coffee prices rose this year; we'll DM you.",),
    ("en", "thanks"): ("Anytime! ☕",),
    ("en", "nudge"): ("Sorry for the wait {name}, answering now.",),
    ("pt", "praise"): ("Obrigado {name}! ☕",),
    ("pt", "question"): ("Olá {name}! Enviamos para o Brasil, te escrevemos por DM ☕",),
    ("pt", "complaint"): ("Olá {name}, sentimos muito. Te escrevemos por DM.",),
    ("pt", "other"): ("☕",),
    ("pt", "crisis"): ("{name}, sentimos muito. Te contatamos por DM para o reembolso.",),
    ("pt", "price"): ("Olá {name}, entendemos. Te escrevemos por DM.",),
    ("pt", "thanks"): ("☕🤎",),
    ("pt", "nudge"): ("Desculpe a demora, {name}.",),
}

# Post captions by content type.
CAPTIONS: dict[str, tuple[str, ...]] = {
    "photo": (
        "Mañanas de {product} ☕",
        "Nuevo en la tienda: {product}",
        "Desde la finca a tu taza: {product}",
        "Así se ve nuestra barra hoy en La Floresta",
    ),
    "reel": (
        "Cómo preparar {product} en prensa francesa",
        "60 segundos de tueste 🔥",
        "Latte art con {product}",
    ),
    "carousel": (
        "5 cosas que no sabías del {product}",
        "Conoce a nuestros productores de Intag",
        "Guía de moliendas",
    ),
    "video": (
        "Visita a la finca: el origen del {product}",
        "Taller de barismo: espresso perfecto",
        "Catación en vivo",
    ),
    "text": (
        "¿Cuál es tu método favorito para el {product}?",
        "Horario especial este feriado",
        "Pregunta del día",
    ),
    "link": (
        "Nuevo artículo en el blog: el {product}",
        "Compra en línea con envío a todo el país",
        "Nuestra historia",
    ),
}

FIRST_NAMES_ES = (
    "María José",
    "Andrés",
    "Gabriela",
    "Santiago",
    "Daniela",
    "Diego",
    "Valentina",
    "Carlos",
    "Camila",
    "Juan Pablo",
    "Paola",
    "Felipe",
    "Carolina",
    "Mateo",
    "Fernanda",
    "Sebastián",
    "Lucía",
    "Jorge",
    "Verónica",
    "Esteban",
    "Sofía",
    "Ricardo",
    "Mishel",
    "Patricio",
    "Karla",
    "Byron",
    "Doménica",
    "Wilson",
)
LAST_NAMES_ES = (
    "Vásquez",
    "Ortiz",
    "Salazar",
    "Guerrero",
    "Molina",
    "Jaramillo",
    "Espinosa",
    "Naranjo",
    "Cisneros",
    "Benítez",
    "Terán",
    "Villacís",
    "Proaño",
    "Chiriboga",
    "Herrera",
    "Andrade",
    "Zambrano",
    "Pazmiño",
)
FIRST_NAMES_EN = (
    "Emily",
    "James",
    "Sarah",
    "Michael",
    "Jessica",
    "David",
    "Ashley",
    "Ryan",
    "Lauren",
    "Kevin",
    "Hannah",
    "Tom",
    "Olivia",
    "Chris",
    "Megan",
    "Nathan",
)
LAST_NAMES_EN = (
    "Smith",
    "Johnson",
    "Brown",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Clark",
    "Walker",
    "Young",
)
FIRST_NAMES_PT = ("João", "Ana Clara", "Pedro", "Beatriz", "Lucas", "Mariana")
LAST_NAMES_PT = ("Silva", "Santos", "Oliveira", "Souza", "Costa")

CALENDAR_TOPICS = (
    "Lanzamiento Geisha Reserva",
    "Receta de la semana",
    "Productores de Intag",
    "Taller de barismo",
    "Promoción fin de semana",
    "Detrás del tueste",
    "Preguntas frecuentes de envíos",
    "Historia de Café Tertulia",
)


# --- Chat (Discord server, Telegram group) and the support mailbox -------------------------------------
# Chat is short and informal; mail is longer, with a subject line (the mailbox connector writes a thread's
# first mail as "subject\n\nbody").
CHAT_MEMBER: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "question"): (
        "alguien sabe si hoy abren hasta tarde?",
        "oigan, ¿el {product} ya volvió a stock?",
        "¿el taller de latte art del sábado tiene cupo todavía?",
        "¿cuál me recomiendan para V60, el {product} o el de Loja?",
        "¿hacen envíos a {city} esta semana?",
        "hola! ¿aceptan pago con tarjeta en la web?",
        "¿a qué hora es la cata del jueves?",
    ),
    ("es", "complaint"): (
        "pedí el martes y todavía nada, ¿me ayudan? {neg}",
        "el link de pago de la web no funciona {neg}",
        "me cobraron dos veces el pedido {neg}",
        "llegó el {product} pero faltaba un filtro {neg}",
        "nadie responde en el chat de la web {neg}",
    ),
    ("es", "praise"): (
        "el {product} de esta semana está buenísimo {pos}",
        "gracias por la cata de ayer, aprendí un montón {pos}",
        "qué buena comunidad se armó aquí {pos}",
        "ya llegó mi pedido, súper rápido {pos}",
    ),
    ("es", "other"): (
        "buenos días a todos ☕",
        "¿alguien más tomando café a esta hora? jaja",
        "foto de mi V60 de hoy 📷",
        "saludos desde {city}",
    ),
    ("en", "question"): (
        "anyone know if the café is open late today?",
        "is the {product} back in stock?",
        "do you ship to {city} this week?",
        "what grind should I use for AeroPress?",
        "is there still room in Saturday's latte art workshop?",
    ),
    ("en", "complaint"): (
        "ordered on Tuesday and still nothing, can someone help? {neg}",
        "the checkout page keeps failing {neg}",
        "I was charged twice for my order {neg}",
    ),
    ("en", "praise"): (
        "this week's {product} is so good {pos}",
        "thanks for the tasting yesterday, learned a lot {pos}",
        "my order arrived super fast {pos}",
    ),
    ("en", "other"): ("good morning everyone ☕", "greetings from {city}", "coffee #3 of the day lol"),
}
CHAT_BRAND: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "question"): (
        "¡Hola {name}! Sí, te cuento: escríbenos tu número de pedido y lo revisamos 🙌",
        "Hola {name}, sí, hoy abrimos hasta las 18:00 ☕",
        "¡Hola {name}! Todavía quedan cupos, te dejo el enlace de inscripción en el canal de anuncios",
        "Hola {name}, para V60 te recomendamos molienda media-fina. ¡Cuéntanos qué tal!",
    ),
    ("es", "complaint"): (
        "{name}, lo sentimos mucho 🙏 Ya revisamos tu pedido y te escribimos por privado",
        "Perdón por la molestia {name}, ya lo pasamos al equipo de pagos y te devolvemos el cobro doble hoy",
        "Gracias por avisar {name}, lo estamos arreglando ahora mismo",
    ),
    ("es", "praise"): ("¡Gracias {name}! 🤎", "¡Qué bueno que te gustó, {name}! ☕"),
    ("es", "other"): ("¡Buenos días {name}! ☕",),
    ("en", "question"): (
        "Hi {name}! Yes, send us your order number and we'll check 🙌",
        "Hi {name}, we're open until 6 pm today ☕",
        "Hi {name}, medium-fine works best for AeroPress. Enjoy!",
    ),
    ("en", "complaint"): (
        "So sorry {name} 🙏 we're looking into your order and will DM you",
        "Sorry about that {name}, the double charge is being reversed today",
    ),
    ("en", "praise"): ("Thanks {name}! 🤎",),
    ("en", "other"): ("Morning {name}! ☕",),
}
EMAIL_MEMBER: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "question"): (
        "Consulta sobre envíos\n\nBuenas tardes, quisiera saber si hacen envíos a {city} y cuánto demoran. Gracias.",
        "Factura de mi compra\n\nHola, ¿me pueden enviar la factura electrónica de mi pedido con mi RUC? Saludos.",
        "Pedido corporativo\n\nBuen día, somos una oficina de 40 personas y queremos cotizar {product} mensual.",
        "Cambio de dirección\n\nHola, hice un pedido ayer y necesito cambiar la dirección de entrega. ¿Es posible?",
    ),
    ("es", "complaint"): (
        "Pedido no recibido\n\nEstimados, mi pedido tenía que llegar el lunes y no ha llegado. Necesito una solución.",
        "Cobro duplicado\n\nBuenas, me debitaron dos veces el mismo pedido de {product}. Solicito la devolución del dinero.",
        "Producto en mal estado\n\nLa bolsa de {product} llegó abierta y el café estaba húmedo. Adjunto foto.",
    ),
    ("es", "praise"): (
        "Felicitaciones\n\nSolo quería decirles que el {product} es excelente y la atención en el local, de lujo.",
    ),
    ("en", "question"): (
        "Shipping question\n\nHello, do you ship to {city}? How long does delivery usually take? Thanks.",
        "Wholesale inquiry\n\nHi, we run a small café and would like a quote for {product} in 5 kg bags.",
    ),
    ("en", "complaint"): (
        "Order not delivered\n\nHi, my order was due on Monday and I still have nothing. Please help.",
        "Charged twice\n\nHello, I was charged twice for the same order. Please reverse one of them.",
    ),
    ("en", "praise"): ("Thank you\n\nJust wanted to say the {product} is wonderful. Thank you!",),
}
EMAIL_BRAND: dict[tuple[str, str], tuple[str, ...]] = {
    ("es", "question"): (
        "Hola {name}, gracias por escribirnos. Sí, lo podemos hacer; te enviamos los detalles abajo.\n\n"
        "Saludos,\nSoporte Café Tertulia",
        "Estimado/a {name}: le adjuntamos la información solicitada. Quedamos atentos.\n\nSoporte Café Tertulia",
    ),
    ("es", "complaint"): (
        "Hola {name}, lamentamos mucho lo ocurrido. Ya gestionamos la solución y le escribimos hoy con el "
        "número de seguimiento.\n\nSoporte Café Tertulia",
        "Estimado/a {name}: confirmamos la devolución del cobro duplicado; se verá en 3 a 5 días hábiles.\n\n"
        "Soporte Café Tertulia",
    ),
    ("es", "praise"): ("¡Muchas gracias, {name}! Nos alegra mucho leerle.\n\nSoporte Café Tertulia",),
    ("en", "question"): (
        "Hi {name}, thanks for writing. Yes, we can; details below.\n\nBest,\nCafé Tertulia Support",
    ),
    ("en", "complaint"): (
        "Hi {name}, we are very sorry. We have fixed it and will send you the tracking number today.\n\n"
        "Café Tertulia Support",
    ),
    ("en", "praise"): ("Thank you so much, {name}!\n\nCafé Tertulia Support",),
}
# Planted in every sample: a mail on a Friday evening, answered first thing on Monday.
WEEKEND_MAIL = (
    "Pedido para el lunes\n\nBuenas noches, ¿mi pedido 5120 sale el lunes a primera hora? Es un regalo.",
    "Hola, sí: su pedido 5120 sale hoy a las 11:00 y llega por la tarde.\n\nSoporte Café Tertulia",
)
